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
    message = text;
  }
  const clean = sanitizeUpstreamMessage(message);
  message = clean.message;
  param ??= clean.param;
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

/** Longest message passed to clients; engine messages beyond it are cut with an ellipsis. */
export const MAX_UPSTREAM_MESSAGE = 500;

// One pydantic error inside vLLM's "N validation error(s):" message, Python-repr formatted:
// {'type': 'missing', 'loc': ('body', 'messages'), 'msg': 'Field required', 'input': {...}}
const PYDANTIC_ERROR = /'loc': \(([^)]*)\), 'msg': (?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g;

/**
 * vLLM 0.20's request-validation messages repeat the whole request body (prompts, tool
 * definitions) and a source path of the server, and can run to megabytes. Clients get the
 * validation reasons only (`messages: Field required`), with the field as `param` when there is
 * exactly one; any other message loses tracebacks and file paths and is bounded.
 */
export function sanitizeUpstreamMessage(raw: string): { message: string; param: string | null } {
  if (/^\d+ validation errors?:/.test(raw)) {
    // vLLM lists the errors twice (once more after the source location): a set keeps one of each.
    const reasons = new Set<string>();
    const fields = new Set<string>();
    for (const m of raw.matchAll(PYDANTIC_ERROR)) {
      const loc = m[1]!
        .split(",")
        .map((p) => p.trim().replace(/^'|'$/g, ""))
        .filter((p) => p !== "" && p !== "body" && !/^\d+$/.test(p));
      const msg = (m[2] ?? m[3] ?? "").replace(/^Value error, /, "");
      const field = loc.join(".");
      if (field) fields.add(field);
      reasons.add(field ? `${field}: ${msg}` : msg);
    }
    if (reasons.size === 0) {
      // e.g. "1 validation error:\n  Unsupported Media Type: Only 'application/json' is allowed [...]"
      const line =
        raw
          .split("\n")[1]
          ?.trim()
          .replace(/\s*\[.*$/, "") ?? "";
      if (line) reasons.add(line);
    }
    const message = reasons.size > 0 ? [...reasons].join("; ") : "The request is invalid.";
    return { message: bound(message), param: fields.size === 1 ? [...fields][0]! : null };
  }
  const withoutTrace = raw.split(/\n\s*(?:File "|Traceback \(most recent call last\))/)[0]!;
  const withoutPaths = withoutTrace.replace(/(?:\/[\w.@+-]+){2,}\/?/g, "<path>");
  return { message: bound(withoutPaths.replace(/\s+/g, " ").trim()), param: null };
}

function bound(message: string): string {
  return message.length > MAX_UPSTREAM_MESSAGE ? `${message.slice(0, MAX_UPSTREAM_MESSAGE - 1)}…` : message;
}
