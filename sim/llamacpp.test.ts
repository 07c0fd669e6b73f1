import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "./server.ts";
import { postJson, postSse, startSimulator } from "./testing.ts";

describe("llama.cpp flavour (kimi-k2.5-q2)", () => {
  let sim: Simulator;
  let url: string;
  beforeAll(async () => {
    ({ sim, url } = await startSimulator({ model: "kimi-k2.5-q2" }));
  });
  afterAll(() => sim.close());

  it("answers /health with {status: ok} and /v1/models with owned_by llamacpp", async () => {
    const health = await fetch(`${url}/health`);
    expect(await health.json()).toEqual({ status: "ok" });
    const models = (await (await fetch(`${url}/v1/models`)).json()) as {
      data: { id: string; owned_by: string; meta: { n_ctx_train: number } }[];
    };
    expect(models.data[0]).toMatchObject({
      id: "kimi-k2.5-q2",
      owned_by: "llamacpp",
      meta: { n_ctx_train: 131072 },
    });
  });

  it("puts reasoning in reasoning_content and works with the openai client", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });
    const res = await client.chat.completions.create({
      model: "anything",
      messages: [{ role: "user", content: "hi" }],
    });
    const msg = res.choices[0]!.message as unknown as Record<string, unknown>;
    expect(typeof msg["reasoning_content"]).toBe("string");
    expect(msg["reasoning"]).toBeUndefined();
    expect(res.model).toBe("kimi-k2.5-q2");
    const stream = await postSse(`${url}/v1/chat/completions`, {
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    expect(stream.raw).toContain('"reasoning_content":');
    expect(stream.frames.at(-1)).toBe("data: [DONE]");
  });

  it("uses llama-server's error shape and its 503 while loading", async () => {
    const bad = await postJson(`${url}/v1/chat/completions`, { messages: "nope" });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({
      error: { code: 400, message: expect.any(String), type: "invalid_request_error" },
    });
    const loading = await startSimulator({ model: "kimi-k2.5-q2", loadMs: 5000 });
    try {
      const res = await fetch(`${loading.url}/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: { code: 503, message: "Loading model", type: "unavailable_error" },
      });
    } finally {
      await loading.sim.close();
    }
  });
});

describe("reasoning field setting", () => {
  it("can put vLLM reasoning in reasoning_content for older-vLLM clients", async () => {
    const { sim, url } = await startSimulator({ model: "qwen3-32b", reasoningField: "reasoning_content" });
    try {
      const res = await postJson(`${url}/v1/chat/completions`, {
        model: "qwen3-32b",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(res.json.choices[0].message.reasoning_content.length).toBeGreaterThan(0);
      const off = await postJson(`${url}/v1/chat/completions`, {
        model: "qwen3-32b",
        messages: [{ role: "user", content: "hi" }],
        chat_template_kwargs: { enable_thinking: false },
      });
      expect(off.json.choices[0].message.reasoning_content).toBeNull();
      const openaiIds = await postJson(`${url}/v1/chat/completions`, {
        model: "qwen3-32b",
        messages: [{ role: "user", content: "x" }],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      });
      expect(openaiIds.json.choices[0].message.tool_calls[0].id).toMatch(/^chatcmpl-tool-[0-9a-f]{32}$/);
    } finally {
      await sim.close();
    }
  });
});

describe("llama.cpp metrics", () => {
  it("serves llama-server's llamacpp:* names on /metrics, not vLLM's", async () => {
    const { sim, url } = await startSimulator({ model: "kimi-k2.5-q2" });
    try {
      await postJson(`${url}/v1/chat/completions`, { messages: [{ role: "user", content: "hi" }] });
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(/^llamacpp:requests_processing 0$/m);
      expect(text).toMatch(/^llamacpp:requests_deferred 0$/m);
      expect(text).toMatch(/^llamacpp:tokens_predicted_total [1-9]\d*$/m);
      expect(text).not.toContain("vllm:");
    } finally {
      await sim.close();
    }
  });
});
