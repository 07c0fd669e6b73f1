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

describe("upstream messages are bounded and sanitised", () => {
  // vLLM 0.20.2's answer to a body without `messages`, as measured on the reference engine.
  const secret = "my private prompt ".repeat(400);
  const input = `{'model': 'kimi-k2.5', 'prompt_notes': '${secret}'}`;
  const vllmMissing = {
    error: {
      message:
        `1 validation error:\n  {'type': 'missing', 'loc': ('body', 'messages'), 'msg': 'Field required', 'input': ${input}}\n\n` +
        `  File "/root/.cache/gonka/vllm-ref/venv/lib/python3.11/site-packages/vllm/entrypoints/utils.py", line 40, in create_chat_completion\n` +
        `    POST /v1/chat/completions [{'type': 'missing', 'loc': ('body', 'messages'), 'msg': 'Field required', 'input': ${input}}]`,
      type: "Bad Request",
      param: null,
      code: 400,
    },
  };

  it("keeps the validation reason and its field, not the request body or server paths", () => {
    const e = fromUpstreamError(400, JSON.stringify(vllmMissing));
    expect(e.status).toBe(400);
    expect(e.toBody()).toEqual({
      error: {
        message: "messages: Field required",
        type: "invalid_request_error",
        param: "messages",
        code: null,
      },
    });
  });

  it("reads value errors (Python's double-quoted repr too) and media-type errors", () => {
    const tools = `1 validation error:\n  {'type': 'value_error', 'loc': ('body',), 'msg': "Value error, the tool's name is 'x'", 'input': {'tools': []}}`;
    expect(fromUpstreamError(400, JSON.stringify({ error: { message: tools } })).message).toBe(
      "the tool's name is 'x'",
    );
    const media = `1 validation error:\n  Unsupported Media Type: Only 'application/json' is allowed ["Unsupported Media Type: Only 'application/json' is allowed"]`;
    expect(fromUpstreamError(400, JSON.stringify({ error: { message: media } })).message).toBe(
      "Unsupported Media Type: Only 'application/json' is allowed",
    );
  });

  it("bounds any message and strips tracebacks and file paths, keeping status and param", () => {
    const long = `bad value ${"x".repeat(5000)}\n  File "/usr/lib/python3/dist-packages/vllm/x.py", line 3`;
    const e = fromUpstreamError(400, JSON.stringify({ error: { message: long, param: "temperature" } }));
    expect(e.status).toBe(400);
    expect(e.message.length).toBeLessThanOrEqual(500);
    expect(e.message).not.toContain("File");
    expect(e.toBody().error.param).toBe("temperature");
    const e500 = fromUpstreamError(500, `{"error":{"message":"boom at /opt/venv/lib/vllm/engine.py"}}`);
    expect(e500.message).toBe("The model backend failed (500): boom at <path>");
    expect(fromUpstreamError(400, "y".repeat(10_000)).message.length).toBeLessThanOrEqual(500);
  });
});
