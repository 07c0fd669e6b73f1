import type { Engine } from "../catalog/index.ts";

/** An error the simulator reports to the client in its engine's error shape. */
export class SimError extends Error {
  readonly status: number;
  readonly param: string | null;
  /** Overrides the type derived from the status (vLLM puts class-like names here). */
  readonly type: string | undefined;
  /** A request-validation (pydantic) error: vLLM types it "Bad Request" with `param: null`. */
  readonly validation: boolean;

  constructor(
    status: number,
    message: string,
    opts: { param?: string | null; type?: string; validation?: boolean } = {},
  ) {
    super(message);
    this.status = status;
    this.param = opts.param ?? null;
    this.type = opts.type;
    this.validation = opts.validation ?? false;
  }
}

const VLLM_TYPES: Record<number, string> = {
  400: "BadRequestError",
  404: "NotFoundError",
  405: "MethodNotAllowed",
  422: "UnprocessableEntityError",
  500: "InternalServerError",
  501: "NotImplementedError",
  503: "ServiceUnavailableError",
};

const LLAMACPP_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "not_found_error",
  500: "server_error",
  501: "not_supported_error",
  503: "unavailable_error",
};

/**
 * vLLM >= 0.20: `{"error":{"message","type","param","code"}}` with `code` the HTTP
 * status as a number. llama-server: `{"error":{"code","message","type"}}`.
 * `wrongShape` reproduces a misconfigured proxy's `{"detail": "..."}` for the
 * conformance suite's meta-test.
 */
export function errorPayload(engine: Engine, err: SimError, wrongShape = false): unknown {
  if (wrongShape) return { detail: err.message };
  if (engine === "llamacpp") {
    return {
      error: {
        code: err.status,
        message: err.message,
        type: err.type ?? LLAMACPP_TYPES[err.status] ?? "server_error",
      },
    };
  }
  return {
    error: {
      message: err.message,
      type: err.validation ? "Bad Request" : (err.type ?? VLLM_TYPES[err.status] ?? "InternalServerError"),
      param: err.param,
      code: err.status,
    },
  };
}

export function badRequest(message: string, param?: string): SimError {
  return new SimError(400, message, { param: param ?? null });
}

/**
 * vLLM 0.20.2's answer to a request that fails its pydantic model: 400, type "Bad Request",
 * `param: null`, and a message that repeats the whole request body and a server source path
 * (measured on the reference engine; the gateway must not pass that on verbatim).
 */
export function validationError(
  msg: string,
  input: unknown,
  loc = "('body',)",
  kind = "value_error",
): SimError {
  const detail = `{'type': '${kind}', 'loc': ${loc}, 'msg': '${msg}', 'input': ${JSON.stringify(input)}}`;
  return new SimError(
    400,
    `1 validation error:\n  ${detail}\n\n  File "/usr/local/lib/python3.12/dist-packages/vllm/entrypoints/utils.py", line 40, in create_chat_completion\n    POST /v1/chat/completions [${detail}]`,
    { validation: true },
  );
}
