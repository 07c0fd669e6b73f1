import type { ServerResponse } from "node:http";
import type { RequestOutcome } from "../outcome.ts";

/**
 * An AbortSignal that fires when the client goes away before its answer is complete,
 * so the upstream request is cancelled and the engine stops generating (frees the GPU).
 */
export function abortOnClientClose(
  res: ServerResponse,
  outcome: RequestOutcome,
): { signal: AbortSignal; dispose(): void } {
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) {
      outcome.clientAborted = true;
      abort.abort();
    }
  };
  res.once("close", onClose);
  return { signal: abort.signal, dispose: () => res.off("close", onClose) };
}
