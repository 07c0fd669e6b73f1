import { errors, GatewayError, toGatewayError } from "../errors.ts";
import type { RequestOutcome } from "../outcome.ts";
import type { UpstreamResponse } from "../upstream/callUpstream.ts";

/** An upstream failure (undici's codes, resets) as the GatewayError the client sees. */
export function normaliseError(err: unknown, modelId: string, idleMs: number): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code;
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return errors.upstreamTimeout(`The backend for \`${modelId}\` went silent for more than ${idleMs} ms.`);
  }
  if (code?.startsWith("UND_ERR") || code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return errors.upstreamFailed(`The connection to the backend for \`${modelId}\` broke.`, err);
  }
  return toGatewayError(err);
}

/**
 * A stream that broke after its first byte: the error to end it with, and the replica sits out
 * `replicaCooldownMs` as unhealthy. None when the client left (its abort broke the stream).
 */
export function streamBroke(
  err: unknown,
  upstream: UpstreamResponse,
  outcome: RequestOutcome,
  options: { idleMs: number; replicaCooldownMs: number },
): GatewayError | undefined {
  if (outcome.clientAborted) return undefined;
  upstream.replica.markFailed(
    `stream broke: ${(err as Error).message}`,
    options.replicaCooldownMs,
    "unhealthy",
  );
  return normaliseError(err, outcome.modelServed ?? "", options.idleMs);
}
