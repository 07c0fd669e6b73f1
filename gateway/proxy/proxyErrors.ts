import { errors, GatewayError, toGatewayError } from "../errors.ts";

/** An upstream failure (undici's codes, resets) as the GatewayError the client sees. */
export function normaliseError(err: unknown, modelId: string, idleMs: number): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code;
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return errors.upstreamTimeout(`The backend for \`${modelId}\` went silent for more than ${idleMs} ms.`);
  }
  if (code?.startsWith("UND_ERR") || code === "ECONNRESET") {
    return errors.upstreamFailed(`The connection to the backend for \`${modelId}\` broke.`, err);
  }
  return toGatewayError(err);
}
