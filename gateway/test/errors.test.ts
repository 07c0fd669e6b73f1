import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Fixture, post, setFaults, startFixture } from "./fixtures.ts";
import { exchange, type RawResponse } from "./fuzz/rawHttp.ts";

let fx: Fixture;

beforeAll(async () => {
  fx = await startFixture(
    [
      { preset: "qwen3-32b", replicas: 1 },
      { preset: "qwen3-embedding-0.6b", replicas: 1 },
    ],
    (c) => ({
      ...c,
      bodyLimitBytes: 64 * 1024,
    }),
  );
});
afterAll(() => fx?.close());
beforeEach(async () => {
  await setFaults(fx.sims.get("qwen3-32b")![0]!, []);
});

const chat = { model: "qwen3-32b", messages: [{ role: "user", content: "hi" }] };

async function expectError(res: Response, status: number, code: string | null, param?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("x-request-id")).toBeTruthy();
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof body.error["message"]).toBe("string");
  expect(body.error["code"]).toBe(code);
  if (param !== undefined) expect(body.error["param"]).toBe(param);
  return body.error;
}

describe("every error path answers in OpenAI's shape", () => {
  it("unknown route → 404", async () => {
    await expectError(await fetch(`${fx.url}/v1/nope`), 404, "unknown_url");
    await expectError(await post(`${fx.url}/v2/chat/completions`, chat), 404, "unknown_url");
  });

  it("wrong method on a known route → 405 in our shape, naming the allowed method", async () => {
    const res = await fetch(`${fx.url}/v1/chat/completions`);
    expect(res.headers.get("allow")).toBe("POST");
    await expectError(res, 405, "method_not_allowed");
  });

  it("a proxied route answers the same by its exact path and by the router's other spellings", async () => {
    // POST to the exact path takes the pre-composed chain (app.ts, hotRoutes); a trailing
    // slash, another case or a query string goes through @koa/router's own match.
    for (const path of [
      "/v1/chat/completions",
      "/v1/chat/completions/",
      "/V1/Chat/Completions",
      "/v1/chat/completions?x=1",
    ]) {
      const res = await post(`${fx.url}${path}`, chat);
      expect(res.status, path).toBe(200);
      expect(((await res.json()) as { object: string }).object, path).toBe("chat.completion");
    }
    // Errors raised inside the pre-composed chain still reach errorHandler.
    await expectError(
      await post(`${fx.url}/v1/chat/completions`, { ...chat, model: "nope" }),
      404,
      "model_not_found",
    );
  });

  it("requests Node's parser refuses, an unknown Expect and CONNECT still get OpenAI errors", async () => {
    const raw = (method: string, path: string, headers: [string, string][] = []) =>
      exchange(fx.url, {
        method,
        target: Buffer.from(path),
        headers: headers.map(([k, v]) => [k, Buffer.from(v)] as [string, Buffer]),
        body: Buffer.alloc(0),
      });
    const cases: [Promise<RawResponse>, number, string][] = [
      [raw("GET", "/healthz", [["x-huge", "a".repeat(20_000)]]), 431, "headers_too_large"],
      [raw("GET", "/healthz", [["transfer-encoding", "chunked"]]), 400, "malformed_request"],
      [raw("G\u0001T", "/healthz"), 400, "malformed_request"],
      [raw("GET", "/healthz", [["expect", "teapot"]]), 417, "expectation_failed"],
      [raw("CONNECT", "example.com:443"), 405, "method_not_allowed"],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, code).toBe(status);
      expect(res.headers["content-type"]).toMatch(/application\/json/);
      expect(res.headers["x-request-id"]).toBeTruthy();
      expect(JSON.parse(res.body.toString()).error.code).toBe(code);
    }
  });

  it("a broken percent-encoding in a model path → 404 model_not_found, not 500", async () => {
    await expectError(await fetch(`${fx.url}/v1/models/%E0%A4%A`), 404, "model_not_found");
  });

  it("unknown model → 404 model_not_found", async () => {
    await expectError(
      await post(`${fx.url}/v1/chat/completions`, { ...chat, model: "gpt-9" }),
      404,
      "model_not_found",
      "model",
    );
    await expectError(await fetch(`${fx.url}/v1/models/gpt-9`), 404, "model_not_found", "model");
  });

  it("bad JSON → 400 invalid_json", async () => {
    await expectError(await post(`${fx.url}/v1/chat/completions`, "{not json"), 400, "invalid_json");
    await expectError(await post(`${fx.url}/v1/chat/completions`, ""), 400, "invalid_json");
  });

  it("wrong content type → 415", async () => {
    const res = await fetch(`${fx.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    await expectError(res, 415, "unsupported_media_type");
  });

  it("body too large → 413, declared or streamed", async () => {
    const big = { ...chat, messages: [{ role: "user", content: "x".repeat(70 * 1024) }] };
    await expectError(await post(`${fx.url}/v1/chat/completions`, big), 413, "request_too_large");
  });

  it("invalid parameters the gateway checks → 400 naming the parameter", async () => {
    const url = `${fx.url}/v1/chat/completions`;
    await expectError(
      await post(url, { messages: chat.messages }),
      400,
      "missing_required_parameter",
      "model",
    );
    await expectError(await post(url, { model: "qwen3-32b", messages: [] }), 400, null, "messages");
    await expectError(await post(url, { ...chat, max_tokens: -1 }), 400, null, "max_tokens");
    await expectError(await post(url, { ...chat, temperature: 7 }), 400, null, "temperature");
    await expectError(await post(url, { ...chat, stream: "yes" }), 400, null, "stream");
    await expectError(await post(url, [1, 2]), 400, null);
    await expectError(
      await post(`${fx.url}/v1/embeddings`, { model: "qwen3-32b", input: "x" }),
      400,
      "model_not_supported",
      "model",
    );
    await expectError(await post(`${fx.url}/v1/embeddings`, { model: "embeddings" }), 400, null, "input");
  });

  it("upstream 4xx passes through with its message", async () => {
    const huge = { ...chat, max_tokens: 10_000_000 };
    const error = await expectError(await post(`${fx.url}/v1/chat/completions`, huge), 400, null);
    expect(error["type"]).toBe("invalid_request_error");
    expect(String(error["message"])).toMatch(/max|context|length/i);
  });

  it("upstream validation errors reach the client bounded, without the echoed body or server paths", async () => {
    // vLLM (and the simulator, after it) answers `tools: []` with a message repeating the request.
    const marker = "confidential-prompt-text";
    const body = { ...chat, messages: [{ role: "user", content: marker.repeat(200) }], tools: [] };
    const error = await expectError(await post(`${fx.url}/v1/chat/completions`, body), 400, null);
    expect(error["message"]).toBe(
      "`tools` must not be an empty array. Either provide at least one tool or omit the field entirely.",
    );
    expect(String(error["message"])).not.toContain(marker);
    expect(String(error["message"])).not.toContain("site-packages");
  });

  it("upstream 500 → 502 and 503 → 503 once the default retry has run out (timeouts: longGenerations.test.ts)", async () => {
    const sim = fx.sims.get("qwen3-32b")![0]!;
    await setFaults(sim, [{ mode: "http_500" }]);
    await expectError(await post(`${fx.url}/v1/chat/completions`, chat), 502, "upstream_error");
    await setFaults(sim, [{ mode: "http_503" }]);
    await expectError(await post(`${fx.url}/v1/chat/completions`, chat), 503, "backend_unavailable");
  });

  it("no healthy replica → 503 with Retry-After for that model only; the gateway stays ready", async () => {
    const pool = fx.gateway.registry.resolve("qwen3-32b")!;
    pool.replicas[0]!.markProbe(false, "test");
    try {
      const res = await post(`${fx.url}/v1/chat/completions`, chat);
      expect(res.headers.get("retry-after")).toBe("1");
      await expectError(res, 503, "no_healthy_backend");
      // Readiness is the gateway's own: one model's outage must not take the API out of rotation.
      expect((await fetch(`${fx.url}/readyz`)).status).toBe(200);
      const health = (await (await fetch(`${fx.opsUrl}/health/models`)).json()) as {
        data: { model: string; status: string }[];
      };
      expect(health.data.find((m) => m.model === "qwen3-32b")?.status).toBe("down");
      const other = await post(`${fx.url}/v1/embeddings`, { model: "qwen3-embedding-0.6b", input: "x" });
      expect(other.status).toBe(200);
    } finally {
      pool.replicas[0]!.markProbe(true, null);
    }
  });

  it("the openai client raises its typed errors", async () => {
    const client = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: "x", maxRetries: 0 });
    await expect(
      client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.chat.completions.create({ model: "qwen3-32b", messages: [] })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
  });
});
