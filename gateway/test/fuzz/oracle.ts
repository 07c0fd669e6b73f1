/** What every answer to a fuzzed request must look like. Returns a description of what is wrong, or null. */
import type { RawRequest, RawResponse } from "./rawHttp.ts";

export function problemWith(req: RawRequest, res: RawResponse): string | null {
  if (!Number.isInteger(res.status) || res.status < 200 || res.status > 599) return `status ${res.status}`;
  // No fuzzed request reaches a backend, so no 5xx is excusable.
  if (res.status >= 500) return `server error ${res.status}: ${res.body.toString("utf8").slice(0, 300)}`;
  const type = res.headers["content-type"] ?? "";
  if (res.status >= 400) {
    if (!/^application\/json/.test(type)) return `error ${res.status} with content-type "${type}"`;
    if (!res.headers["x-request-id"]) return `error ${res.status} without x-request-id`;
    if (req.method === "HEAD") return null;
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString("utf8"));
    } catch {
      return `error ${res.status} body is not JSON: ${res.body.toString("latin1").slice(0, 200)}`;
    }
    return errorShapeProblem(body);
  }
  // A success: JSON that parses, Prometheus text, or an empty answer to HEAD/OPTIONS.
  if (req.method === "HEAD" || req.method === "OPTIONS") return null;
  if (/^application\/json/.test(type)) {
    try {
      JSON.parse(res.body.toString("utf8"));
    } catch {
      return `success ${res.status} with a body that is not JSON`;
    }
    return null;
  }
  if (/^text\/plain/.test(type) && res.body.toString("utf8").includes("# HELP")) return null;
  return `success ${res.status} with content-type "${type}"`;
}

function errorShapeProblem(body: unknown): string | null {
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!error || typeof error !== "object")
    return `not an OpenAI error object: ${JSON.stringify(body).slice(0, 200)}`;
  if (Object.keys(body as object).join() !== "error") return "extra top-level fields";
  const keys = Object.keys(error).sort().join();
  if (keys !== "code,message,param,type") return `error fields ${keys}`;
  if (typeof error["message"] !== "string" || typeof error["type"] !== "string")
    return "message/type not strings";
  for (const k of ["param", "code"]) {
    if (error[k] !== null && typeof error[k] !== "string") return `${k} is ${JSON.stringify(error[k])}`;
  }
  return null;
}
