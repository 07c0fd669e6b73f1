import { GatewayError } from "../errors.ts";

/**
 * Turns a backend's non-200 answer into our error shape. vLLM, llama.cpp and older
 * vLLM (`{"object":"error",...}`) disagree on layout; clients must see one shape.
 */
export function fromUpstreamError(
  status: number,
  text: string,
  retryAfter?: string | string[] | undefined,
): GatewayError {
  let message = "";
  let param: string | null = null;
  let code: string | null = null;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const inner = (
      typeof body["error"] === "object" && body["error"] !== null ? body["error"] : body
    ) as Record<string, unknown>;
    if (typeof inner["message"] === "string") message = inner["message"];
    else if (typeof body["detail"] === "string") message = body["detail"];
    if (typeof inner["param"] === "string") param = inner["param"];
    if (typeof inner["code"] === "string") code = inner["code"];
  } catch {
    message = text.slice(0, 500);
  }
  if (status >= 500) {
    return new GatewayError({
      status: status === 503 ? 503 : 502,
      type: status === 503 ? "service_unavailable" : "server_error",
      code: status === 503 ? "backend_unavailable" : "upstream_error",
      message: `The model backend failed (${status})${message ? `: ${message}` : "."}`,
      // The engine knows when it can take work again; its hint reaches the client unchanged.
      ...(status === 503 && typeof retryAfter === "string" && /^\d{1,6}$/.test(retryAfter)
        ? { headers: { "retry-after": retryAfter } }
        : {}),
    });
  }
  return new GatewayError({
    status,
    type: typeFor(status),
    code,
    param,
    message: message || `The model backend rejected the request (${status}).`,
  });
}

function typeFor(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  return "invalid_request_error";
}
