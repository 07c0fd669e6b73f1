import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { Simulator } from "./server.ts";
import { startSimulator } from "./testing.ts";

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        days: { type: "integer", minimum: 1, maximum: 7 },
      },
      required: ["city", "unit", "days"],
    },
  },
};
const timeTool = {
  type: "function" as const,
  function: {
    name: "get_time",
    parameters: { type: "object", properties: { zone: { type: "string" } }, required: ["zone"] },
  },
};

// The spec is 3 MB; load it once for the shape checks.
function openaiSchemas() {
  const spec = parseYaml(readFileSync("/work/shared/openai-openapi/openapi.yaml", "utf8")) as {
    components: unknown;
  };
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: "openai.json", components: spec.components });
  return (name: string) => ajv.getSchema(`openai.json#/components/schemas/${name}`)!;
}

/** Fields vLLM itself returns as null although the spec types them non-null; real vLLM fails the spec the same way. */
// biome-ignore lint/suspicious/noExplicitAny: deletes fields from arbitrary response JSON.
function withoutVllmNulls(body: any): any {
  const copy = structuredClone(body);
  delete copy.system_fingerprint;
  if (copy.usage?.prompt_tokens_details === null) delete copy.usage.prompt_tokens_details;
  for (const c of copy.choices ?? []) {
    for (const k of ["annotations", "audio", "function_call"])
      if (c.message?.[k] === null) delete c.message[k];
    if (c.message?.tool_calls?.length === 0) delete c.message.tool_calls;
  }
  return copy;
}

describe("openai client against the K2.5 simulator", () => {
  let sim: Simulator;
  let client: OpenAI;
  let url: string;

  beforeAll(async () => {
    ({ sim, url } = await startSimulator({ model: "kimi-k2.5" }));
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "sk-test", maxRetries: 0 });
  });
  afterAll(() => sim.close());

  it("returns a chat completion with vLLM's fields and reasoning in `reasoning`", async () => {
    const res = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "Say hello" }],
    });
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("kimi-k2.5");
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe("stop");
    expect(choice.logprobs).toBeNull();
    expect((choice as unknown as { stop_reason: unknown }).stop_reason).toBeNull();
    expect(choice.message.content?.length).toBeGreaterThan(0);
    expect((choice.message as unknown as { reasoning: string }).reasoning.length).toBeGreaterThan(0);
    const usage = res.usage!;
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(usage.completion_tokens).toBeGreaterThanOrEqual(16);
  });

  it("validates against the OpenAI spec schemas", async () => {
    const schema = openaiSchemas();
    const chat = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "call get_weather" }],
      tools: [weatherTool],
    });
    const validateChat = schema("CreateChatCompletionResponse");
    expect(validateChat(withoutVllmNulls(chat)), JSON.stringify(validateChat.errors)).toBe(true);
    const models = await (await fetch(`${url}/v1/models`)).json();
    const validateModels = schema("ListModelsResponse");
    expect(validateModels(models), JSON.stringify(validateModels.errors)).toBe(true);
    const completion = await client.completions.create({
      model: "kimi-k2.5",
      prompt: "Once upon",
      max_tokens: 8,
    });
    const validateCompletion = schema("CreateCompletionResponse");
    expect(validateCompletion(withoutVllmNulls(completion)), JSON.stringify(validateCompletion.errors)).toBe(
      true,
    );
  }, 30_000);

  it("omits reasoning when thinking is turned off", async () => {
    const res = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "Say hello" }],
      // @ts-expect-error vLLM extension
      chat_template_kwargs: { thinking: false },
    });
    expect((res.choices[0]!.message as unknown as { reasoning: unknown }).reasoning).toBeFalsy();
  });

  it("streams role first, reasoning before content, and usage when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const kinds: string[] = [];
    let content = "";
    let usageChunk: OpenAI.Chat.Completions.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usageChunk = chunk;
      const delta = chunk.choices[0]?.delta as Record<string, string> | undefined;
      if (!delta) continue;
      if (delta["role"]) kinds.push("role");
      else if (delta["reasoning"]) kinds.push("reasoning");
      else if (delta["content"]) {
        kinds.push("content");
        content += delta["content"];
      }
    }
    expect(kinds[0]).toBe("role");
    expect(kinds.lastIndexOf("reasoning")).toBeLessThan(kinds.indexOf("content"));
    expect(content.length).toBeGreaterThan(0);
    expect(usageChunk?.choices).toEqual([]);
  });

  it("calls tools with K2.5 ids that continue across turns", async () => {
    const first = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: 'What is the weather in "Paris"?' }],
      tools: [weatherTool],
    });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const call = choice.message
      .tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toBe("functions.get_weather:0");
    const args = JSON.parse(call.function.arguments);
    expect(args.city).toBe("Paris");
    expect(["celsius", "fahrenheit"]).toContain(args.unit);
    expect(args.days).toBeGreaterThanOrEqual(1);
    expect(args.days).toBeLessThanOrEqual(7);

    const history: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: "user", content: 'What is the weather in "Paris"?' },
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "tool", tool_call_id: call.id, content: "sunny, 21C" },
    ];
    const answer = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: history,
      tools: [weatherTool],
    });
    expect(answer.choices[0]!.finish_reason).toBe("stop");
    expect(answer.choices[0]!.message.content).toContain("sunny, 21C");

    const second = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [
        ...history,
        { role: "assistant", content: "Sunny." },
        { role: "user", content: "And in Rome?" },
      ],
      tools: [weatherTool],
    });
    expect(second.choices[0]!.message.tool_calls![0]!.id).toBe("functions.get_weather:1");
  });

  it("makes parallel tool calls for every tool named, or one with parallel_tool_calls false", async () => {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: "user", content: "use get_weather and get_time for Tokyo" },
    ];
    const both = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages,
      tools: [weatherTool, timeTool],
    });
    expect(both.choices[0]!.message.tool_calls!.map((c) => c.id)).toEqual([
      "functions.get_weather:0",
      "functions.get_time:1",
    ]);
    const one = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages,
      tools: [weatherTool, timeTool],
      parallel_tool_calls: false,
    });
    expect(one.choices[0]!.message.tool_calls).toHaveLength(1);
  });

  it("assembles streamed tool calls with the SDK's stream helper", async () => {
    const runner = client.chat.completions.stream({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "use get_weather and get_time" }],
      tools: [weatherTool, timeTool],
    });
    const final = await runner.finalChatCompletion();
    const calls = final.choices[0]!.message
      .tool_calls! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall[];
    expect(calls.map((c) => c.function.name)).toEqual(["get_weather", "get_time"]);
    for (const c of calls) expect(() => JSON.parse(c.function.arguments)).not.toThrow();
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("honours tool_choice none, named and required", async () => {
    const base = { model: "kimi-k2.5", tools: [weatherTool, timeTool] };
    const none = await client.chat.completions.create({
      ...base,
      messages: [{ role: "user", content: "get_weather please" }],
      tool_choice: "none",
    });
    expect(none.choices[0]!.message.tool_calls ?? []).toHaveLength(0);
    const named = await client.chat.completions.create({
      ...base,
      messages: [{ role: "user", content: "get_weather please" }],
      tool_choice: { type: "function", function: { name: "get_time" } },
    });
    expect((named.choices[0]!.message.tool_calls![0] as { function: { name: string } }).function.name).toBe(
      "get_time",
    );
    // vLLM 0.20.2 (measured): a named call is structured output, finished with "stop" and content "".
    expect(named.choices[0]!.finish_reason).toBe("stop");
    expect(named.choices[0]!.message.content).toBe("");
    const required = await client.chat.completions.create({
      ...base,
      messages: [
        { role: "user", content: "hi" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "functions.get_time:0", type: "function", function: { name: "get_time", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "functions.get_time:0", content: "noon" },
      ],
      tool_choice: "required",
    });
    // Structured-output calls get vLLM's random ids, not the K2.5 parser's `functions.<name>:<n>`.
    expect(required.choices[0]!.message.tool_calls![0]!.id).toMatch(/^chatcmpl-tool-[0-9a-f]{16}$/);
    expect(required.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("returns a 16 KB quoted argument intact", async () => {
    const big = "x".repeat(8000) + " middle " + "y".repeat(8000);
    const res = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: `Save this note: "${big}"` }],
      tools: [
        {
          type: "function",
          function: {
            name: "save_note",
            parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
          },
        },
      ],
      stream: false,
    });
    const call = res.choices[0]!.message.tool_calls![0] as { function: { arguments: string } };
    expect(JSON.parse(call.function.arguments).text).toBe(big);
  });

  it("produces JSON that matches a json_schema response_format", async () => {
    const schema = {
      type: "object",
      properties: {
        name: { type: "string" },
        age: { type: "integer", minimum: 0 },
        tags: { type: "array", items: { type: "string" } },
      },
      required: ["name", "age", "tags"],
      additionalProperties: false,
    };
    const res = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "Describe a person" }],
      response_format: { type: "json_schema", json_schema: { name: "person", schema, strict: true } },
    });
    const value = JSON.parse(res.choices[0]!.message.content!);
    expect(new Ajv().validate(schema, value)).toBe(true);
    const obj = await client.chat.completions.create({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "json please" }],
      response_format: { type: "json_object" },
    });
    expect(typeof JSON.parse(obj.choices[0]!.message.content!)).toBe("object");
  });

  it("serves legacy completions, streamed and not", async () => {
    const res = await client.completions.create({
      model: "kimi-k2.5",
      prompt: ["a", "b"],
      max_tokens: 5,
      n: 2,
    });
    expect(res.object).toBe("text_completion");
    expect(res.choices).toHaveLength(4);
    expect(res.choices.every((c) => c.finish_reason === "length")).toBe(true);
    expect(res.usage!.completion_tokens).toBe(20);
    const stream = await client.completions.create({
      model: "kimi-k2.5",
      prompt: "a",
      max_tokens: 5,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(
      (await client.completions.create({ model: "kimi-k2.5", prompt: "a", max_tokens: 5 })).choices[0]!.text,
    );
  });

  it("rejects embeddings on a chat model with vLLM's error", async () => {
    const err = await client.embeddings.create({ model: "kimi-k2.5", input: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      message: "The model does not support Embeddings API",
      type: "BadRequestError",
      code: 400,
    });
  });

  it("answers unknown models with 404 NotFoundError", async () => {
    const err = await client.chat.completions
      .create({ model: "gpt-nope", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).message).toContain(
      "The model `gpt-nope` does not exist.",
    );
  });
});

describe("embeddings model", () => {
  let sim: Simulator;
  let client: OpenAI;
  beforeAll(async () => {
    const started = await startSimulator({ model: "qwen3-embedding-0.6b" });
    sim = started.sim;
    client = new OpenAI({ baseURL: `${started.url}/v1`, apiKey: "sk-test", maxRetries: 0 });
  });
  afterAll(() => sim.close());

  it("returns float and base64 vectors that agree, with dimensions", async () => {
    const float = await client.embeddings.create({
      model: "qwen3-embedding-0.6b",
      input: ["the cat sat", "a dog ran"],
      encoding_format: "float",
    });
    expect(float.data).toHaveLength(2);
    expect(float.data[0]!.embedding).toHaveLength(1024);
    expect(float.usage.prompt_tokens).toBeGreaterThan(0);
    const b64 = await client.embeddings.create({
      model: "qwen3-embedding-0.6b",
      input: "the cat sat",
      encoding_format: "base64",
    });
    const a = float.data[0]!.embedding;
    // Asked for base64 explicitly, the SDK hands back the string: little-endian float32.
    const bytes = Buffer.from(b64.data[0]!.embedding as unknown as string, "base64");
    const b = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    expect(b).toHaveLength(1024);
    for (let i = 0; i < 1024; i += 97) expect(b[i]).toBeCloseTo(a[i]!, 5);
    const small = await client.embeddings.create({
      model: "qwen3-embedding-0.6b",
      input: "the cat sat",
      dimensions: 64,
    });
    expect(small.data[0]!.embedding).toHaveLength(64);
  });

  it("makes texts sharing words more similar than unrelated ones", async () => {
    const res = await client.embeddings.create({
      model: "qwen3-embedding-0.6b",
      input: ["paris weather forecast", "weather forecast for paris today", "quantum chromodynamics lecture"],
    });
    const [a, b, c] = res.data.map((d) => d.embedding) as [number[], number[], number[]];
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
  });

  it("rejects chat on an embedding model", async () => {
    const err = await client.chat.completions
      .create({ model: "qwen3-embedding-0.6b", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  });
});
