/**
 * The one error type of the gateway. Every failure path (routing, parsing, auth,
 * limits, upstream faults, mid-stream) throws or emits a GatewayError, and one
 * mapper turns it into OpenAI's error object.
 */

import { Conflict, InvalidInput, NotFound, QuotaExceeded, StoreUnavailable } from "./store/errors.ts";

export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "api_error"
  | "timeout_error"
  | "service_unavailable";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface GatewayErrorInit {
  status: number;
  message: string;
  type: OpenAIErrorType | string;
  code?: string | null;
  param?: string | null;
  /** Extra response headers (Retry-After, x-ratelimit-*). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(init: GatewayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "GatewayError";
    this.status = init.status;
    this.type = init.type;
    this.code = init.code ?? null;
    this.param = init.param ?? null;
    this.headers = init.headers ?? {};
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const errors = {
  /** The one 400 builder: every invalid request, whatever found it, is answered through it. */
  invalidRequest: (message: string, param: string | null = null, code: string | null = null) =>
    new GatewayError({ status: 400, type: "invalid_request_error", message, param, code }),
  invalidJson: (detail: string) =>
    new GatewayError({
      status: 400,
      type: "invalid_request_error",
      code: "invalid_json",
      message: `We could not parse the JSON body of your request: ${detail}`,
    }),
  unsupportedMediaType: (got: string | undefined) =>
    new GatewayError({
      status: 415,
      type: "invalid_request_error",
      code: "unsupported_media_type",
      message: `Content-Type must be application/json, got ${got ? `"${got}"` : "none"}.`,
    }),
  bodyTooLarge: (limit: number) =>
    new GatewayError({
      status: 413,
      type: "invalid_request_error",
      code: "request_too_large",
      message: `Request body exceeds the ${limit}-byte limit.`,
    }),
  invalidApiKey: (why: string) =>
    new GatewayError({ status: 401, type: "authentication_error", code: "invalid_api_key", message: why }),
  modelNotAllowed: (model: string) =>
    new GatewayError({
      status: 403,
      type: "permission_error",
      code: "model_not_allowed",
      param: "model",
      message: `This API key may not use the model \`${model}\`.`,
    }),
  modelNotFound: (model: string) =>
    new GatewayError({
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found",
      param: "model",
      message: `The model \`${model}\` does not exist or you do not have access to it.`,
    }),
  routeNotFound: (method: string, path: string) =>
    new GatewayError({
      status: 404,
      type: "invalid_request_error",
      code: "unknown_url",
      message: `Unknown request URL: ${method} ${path}.`,
    }),
  methodNotAllowed: (method: string, path: string, allow: string) =>
    new GatewayError({
      status: 405,
      type: "invalid_request_error",
      code: "method_not_allowed",
      message: `${method.slice(0, 32)} is not allowed on ${path.slice(0, 200)}${allow ? `; use ${allow}` : ""}.`,
      ...(allow ? { headers: { allow } } : {}),
    }),
  rateLimited: (message: string, headers: Record<string, string>) =>
    new GatewayError({
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      message,
      headers,
    }),
  noHealthyReplica: (model: string) =>
    new GatewayError({
      status: 503,
      type: "service_unavailable",
      code: "no_healthy_backend",
      message: `No healthy backend is serving \`${model}\` right now; retry shortly.`,
      headers: { "retry-after": "1" },
    }),
  /** A discovered model whose pods the gateway has not been able to list yet. */
  backendsNotDiscovered: (model: string) =>
    new GatewayError({
      status: 503,
      type: "service_unavailable",
      code: "backends_not_discovered",
      message: `The gateway has not yet found the engine pods serving \`${model}\` (Kubernetes discovery has not succeeded yet); retry shortly.`,
      headers: { "retry-after": "2" },
    }),
  upstreamFailed: (detail: string, cause?: unknown) =>
    new GatewayError({ status: 502, type: "server_error", code: "upstream_error", message: detail, cause }),
  upstreamTimeout: (detail: string) =>
    new GatewayError({ status: 504, type: "timeout_error", code: "upstream_timeout", message: detail }),
  shuttingDown: () =>
    new GatewayError({
      status: 503,
      type: "service_unavailable",
      code: "shutting_down",
      message: "The gateway is shutting down; retry on another instance.",
      headers: { connection: "close", "retry-after": "1" },
    }),
  internal: (cause?: unknown) =>
    new GatewayError({
      status: 500,
      type: "server_error",
      code: "internal_error",
      message: "The gateway hit an internal error; it has been logged.",
      cause,
    }),
};

/**
 * Anything thrown, as a GatewayError: the store's domain errors by kind, unknown errors as
 * a 500 that hides the details.
 */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof NotFound) {
    return new GatewayError({
      status: 404,
      type: "not_found_error",
      code: err.code,
      param: err.param,
      message: err.message,
    });
  }
  if (err instanceof InvalidInput) return errors.invalidRequest(err.message, err.param, err.code);
  if (err instanceof Conflict) {
    return new GatewayError({
      status: 409,
      type: "invalid_request_error",
      code: err.code,
      param: err.param,
      message: err.message,
      headers: { "retry-after": "1" },
    });
  }
  if (err instanceof QuotaExceeded) {
    // Not a 429: retrying does not help, and OpenAI clients retry 429s by themselves.
    return new GatewayError({
      status: 403,
      type: "insufficient_quota",
      code: err.code,
      param: err.param,
      message: err.message,
    });
  }
  if (err instanceof StoreUnavailable) {
    return new GatewayError({
      status: 503,
      type: "service_unavailable",
      code: err.code,
      message: err.message,
      headers: { "retry-after": "1" },
      cause: err,
    });
  }
  return errors.internal(err);
}
