import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Fixture, post, readSse, startFixture } from "./fixtures.ts";

let fx: Fixture;
let client: OpenAI;

beforeAll(async () => {
  fx = await startFixture([
    { preset: "kimi-k2.5", replicas: 2 },
    { preset: "kimi-k2.5-q2", replicas: 1 },
    { preset: "qwen3-embedding-0.6b", replicas: 1 },
  ]);
  client = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => fx?.close());

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city"],
    },
  },
};

describe("models", () => {
  it("lists the configured models with context length and resolves aliases, even with slashes", async () => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    expect(ids).toEqual(["kimi-k2.5", "kimi-k2.5-q2", "qwen3-embedding-0.6b"]);
    expect((list.data[0] as unknown as { max_model_len: number }).max_model_len).toBe(262_144);
    expect((await client.models.retrieve("kimi")).id).toBe("kimi-k2.5");
    expect((await client.models.retrieve("moonshotai/Kimi-K2.5")).id).toBe("kimi-k2.5");
  });
});

describe("chat completions", () => {
  it("answers non-streaming requests through the openai client, routed by alias", async () => {
    const res = await client.chat.completions
      .create({
        model: "kimi",
        messages: [{ role: "user", content: "Say hello" }],
        max_tokens: 64,
        chat_template_kwargs: { thinking: false },
      } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(res.response.headers.get("x-request-id")).toMatch(/^req_/);
    const body = res.data;
    expect(body.object).toBe("chat.completion");
    expect(body.model).toBe("kimi-k2.5");
    expect(body.choices[0]!.message.content).toBeTruthy();
    expect(body.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage!.total_tokens).toBe(body.usage!.prompt_tokens + body.usage!.completion_tokens);
    const outcome = fx.outcomes.find((o) => o.requestId === res.response.headers.get("x-request-id"))!;
    expect(outcome).toMatchObject({
      status: 200,
      modelRequested: "kimi",
      modelServed: "kimi-k2.5",
      streamed: false,
    });
    expect(outcome.usage?.completionTokens).toBe(body.usage!.completion_tokens);
  });

  it("keeps the client's x-request-id", async () => {
    const res = await post(
      `${fx.url}/v1/chat/completions`,
      { model: "kimi-k2.5", messages: [{ role: "user", content: "x" }] },
      { "x-request-id": "trace-123" },
    );
    expect(res.headers.get("x-request-id")).toBe("trace-123");
    await res.text();
  });

  it("gives every request an id of its own: req_ and 128 random bits in hex", async () => {
    const body = { model: "kimi-k2.5", max_tokens: 2, messages: [{ role: "user", content: "x" }] };
    // More than one pool of ids (256), so the refill is crossed.
    const ids = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const res = await post(`${fx.url}/v1/chat/completions`, body);
      await res.text();
      const id = res.headers.get("x-request-id")!;
      expect(id).toMatch(/^req_[0-9a-f]{32}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(300);
  });

  it("streams through the openai client and reassembles the same text as non-streaming", async () => {
    const params = {
      model: "kimi-k2.5",
      messages: [{ role: "user" as const, content: "Count to five" }],
      max_tokens: 40,
      chat_template_kwargs: { thinking: false },
    };
    const whole = await client.chat.completions.create(
      params as OpenAI.ChatCompletionCreateParamsNonStreaming,
    );
    const stream = await client.chat.completions.create({
      ...params,
      stream: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = "";
    let finish: string | null = null;
    let usageSeen = false;
    for await (const chunk of stream) {
      if (chunk.usage) usageSeen = true;
      const choice = chunk.choices[0];
      text += choice?.delta.content ?? "";
      finish = choice?.finish_reason ?? finish;
    }
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe(whole.choices[0]!.finish_reason);
    expect(usageSeen).toBe(false);
  });

  it("passes the usage chunk on only when the client asked for it, and always meters usage", async () => {
    const body = {
      model: "kimi-k2.5",
      stream: true,
      max_tokens: 8,
      messages: [{ role: "user", content: "hi" }],
    };
    const without = await readSse(await post(`${fx.url}/v1/chat/completions`, body));
    expect(without.at(-1)).toBe("[DONE]");
    expect(without.some((d) => d.includes('"usage"'))).toBe(false);
    expect(JSON.parse(without[0]!).choices[0].delta.role).toBe("assistant");

    const res = await post(`${fx.url}/v1/chat/completions`, {
      ...body,
      stream_options: { include_usage: true },
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const id = res.headers.get("x-request-id");
    const withUsage = await readSse(res);
    const usageChunk = JSON.parse(withUsage.at(-2)!);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.completion_tokens).toBe(8);
    expect(withUsage.at(-1)).toBe("[DONE]");
    const outcome = fx.outcomes.find((o) => o.requestId === id)!;
    expect(outcome.usage).toMatchObject({ completionTokens: 8 });
    expect(outcome.streamed).toBe(true);
    expect(outcome.ttftMs).not.toBeNull();
  });

  it("returns K2.5 tool calls with their ids unchanged, also across turns", async () => {
    const first = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "What is the weather in Paris? use get_weather" }],
      tools: [weatherTool],
      // auto: K2.5's tool parser names the calls; vLLM gives required/named calls random ids.
      tool_choice: "auto",
    });
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.id).toBe("functions.get_weather:0");
    expect(JSON.parse(call.function.arguments)).toHaveProperty("city");
    const second = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [
        { role: "user", content: "What is the weather in Paris? use get_weather" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: '{"temp": 21}' },
        // The simulator answers in text right after a tool result; an answer closes the round.
        { role: "assistant", content: "21 degrees in Paris." },
        { role: "user", content: "And in Rome? use get_weather" },
      ],
      tools: [weatherTool],
      tool_choice: "auto",
    });
    expect(second.choices[0]!.message.tool_calls![0]!.id).toBe("functions.get_weather:1");
  });

  it("streams tool-call deltas that reassemble to valid arguments", async () => {
    const stream = await client.chat.completions.create({
      model: "kimi-k2.5",
      stream: true,
      messages: [{ role: "user", content: "weather in Oslo via get_weather" }],
      tools: [weatherTool],
      tool_choice: "auto",
    });
    let args = "";
    let id = "";
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
        id ||= tc.id ?? "";
        args += tc.function?.arguments ?? "";
      }
    }
    expect(id).toBe("functions.get_weather:0");
    expect(JSON.parse(args)).toHaveProperty("city");
  });

  it("offers reasoning in both fields, from a vLLM backend and from llama.cpp", async () => {
    for (const model of ["kimi-k2.5", "kimi-k2.5-q2"]) {
      const res = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Why is the sky blue?" }],
        max_tokens: 200,
      });
      const msg = res.choices[0]!.message as unknown as {
        reasoning?: string;
        reasoning_content?: string;
        content: string | null;
      };
      expect(msg.reasoning, model).toBeTruthy();
      expect(msg.reasoning_content, model).toBe(msg.reasoning);

      const frames = await readSse(
        await post(`${fx.url}/v1/chat/completions`, {
          model,
          stream: true,
          max_tokens: 30,
          messages: [{ role: "user", content: "Why?" }],
        }),
      );
      const deltas = frames.slice(0, -1).map((f) => JSON.parse(f).choices[0]?.delta ?? {});
      const withReasoning = deltas.filter((d) => d.reasoning || d.reasoning_content);
      expect(withReasoning.length, model).toBeGreaterThan(0);
      for (const d of withReasoning) expect(d.reasoning_content).toBe(d.reasoning);
    }
  });

  it("turns thinking off per request", async () => {
    const res = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "Quick answer" }],
      chat_template_kwargs: { thinking: false },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const msg = res.choices[0]!.message as unknown as {
      reasoning?: string | null;
      reasoning_content?: string | null;
    };
    expect(msg.reasoning ?? null).toBeNull();
    expect(msg.reasoning_content ?? null).toBeNull();
  });
});

describe("completions and embeddings", () => {
  it("serves legacy completions, streamed and not", async () => {
    const res = await client.completions.create({
      model: "kimi-k2.5",
      prompt: "Once upon a time",
      max_tokens: 10,
    });
    expect(res.object).toBe("text_completion");
    expect(res.choices[0]!.text.length).toBeGreaterThan(0);
    const frames = await readSse(
      await post(`${fx.url}/v1/completions`, {
        model: "kimi-k2.5",
        prompt: "x",
        max_tokens: 5,
        stream: true,
      }),
    );
    expect(frames.at(-1)).toBe("[DONE]");
  });

  it("serves embeddings as floats and base64", async () => {
    const res = await client.embeddings.create({
      model: "embeddings",
      input: ["a", "b"],
      encoding_format: "float",
    });
    expect(res.data).toHaveLength(2);
    expect(res.data[0]!.embedding).toHaveLength(1024);
    const b64 = await client.embeddings.create({ model: "qwen3-embedding-0.6b", input: "a" });
    expect(b64.data[0]!.embedding).toHaveLength(1024);
  });
});
