import { describe, expect, it } from "vitest";
import { fromUpstreamError } from "./upstreamError.ts";

describe("fromUpstreamError", () => {
  it("keeps a vLLM 400's message and param in OpenAI's shape", () => {
    const e = fromUpstreamError(
      400,
      JSON.stringify({
        error: {
          message: "max_tokens is too large",
          type: "BadRequestError",
          param: "max_tokens",
          code: 400,
        },
      }),
    );
    expect(e.status).toBe(400);
    expect(e.toBody()).toEqual({
      error: {
        message: "max_tokens is too large",
        type: "invalid_request_error",
        param: "max_tokens",
        code: null,
      },
    });
  });

  it("reads older vLLM and FastAPI error layouts", () => {
    expect(
      fromUpstreamError(400, '{"object":"error","message":"bad","type":"BadRequestError"}').message,
    ).toBe("bad");
    expect(fromUpstreamError(422, '{"detail":"field required"}').message).toBe("field required");
    expect(fromUpstreamError(400, "plain text").message).toBe("plain text");
  });

  it("maps backend 5xx to 502 and 503 to 503, never passing a 500 through", () => {
    const e500 = fromUpstreamError(500, '{"error":{"message":"CUDA OOM"}}');
    expect(e500.status).toBe(502);
    expect(e500.type).toBe("server_error");
    expect(fromUpstreamError(503, "").status).toBe(503);
  });
});
