import type { ServerResponse } from "node:http";
import type { RequestOutcome } from "../outcome.ts";
import { Cancellation } from "../upstream/cancellation.ts";

/**
 * A signal that fires when the client goes away before its answer is complete, so the
 * upstream request is cancelled and the engine stops generating (frees the GPU).
 */
export function abortOnClientClose(
  res: ServerResponse,
  outcome: RequestOutcome,
): { signal: Cancellation; dispose(): void } {
  const signal = new Cancellation();
  const onClose = () => {
    if (!res.writableFinished) {
      outcome.clientAborted = true;
      signal.cancel();
    }
  };
  res.once("close", onClose);
  return { signal, dispose: () => res.off("close", onClose) };
}
