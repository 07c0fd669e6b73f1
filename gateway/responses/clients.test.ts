/**
 * Real Responses-first clients, unchanged, against a real gateway (keys, SQLite, sessions) in
 * front of a simulator subprocess serving kimi-k2.5 the way vLLM does: the `openai` SDK, the
 * OpenAI Agents SDK running a tool-using agent over several turns, and LangChain's ChatOpenAI
 * with `useResponsesApi`. Only the base URL and the key are configured.
 */
import { tool as langchainTool } from "@langchain/core/tools";
import { ChatOpenAI } from "@langchain/openai";
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from "@openai/agents";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { TEST_TIERS } from "../sessions/testClient.ts";
import { type SessionFixture, startSessionFixture } from "../sessions/testing.ts";

let fx: SessionFixture;
let client: OpenAI;
let secret: string;

beforeAll(async () => {
  fx = await startSessionFixture({ config: (c) => ({ ...c, tiers: TEST_TIERS }) });
  ({ secret } = await fx.newKey());
  client = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: secret, maxRetries: 0 });
  setTracingDisabled(true);
}, 60_000);
afterAll(() => fx?.close());

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather for a city.",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
};

describe("openai SDK", () => {
  it("responses.create, then a tool result through previous_response_id", async () => {
    const first = await client.responses.create({
      model: "kimi-k2.5",
      input: 'Use get_weather for "Paris".',
      tools: [weatherTool],
    });
    expect(first.id).toMatch(/^resp_/);
    const call = first.output.find((i) => i.type === "function_call");
    expect(call).toMatchObject({ name: "get_weather", call_id: "functions.get_weather:0" });
    expect(JSON.parse(call!.type === "function_call" ? call!.arguments : "{}")).toEqual({ city: "Paris" });
    const second = await client.responses.create({
      model: "kimi-k2.5",
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call!.call_id, output: "sunny, 21C" }],
      tools: [weatherTool],
    });
    expect(second.output_text).toContain("sunny, 21C");
    expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
    const again = await client.responses.retrieve(second.id);
    expect(again.output_text).toBe(second.output_text);
    const inputs = await client.responses.inputItems.list(second.id);
    expect(inputs.data.map((i) => i.type)).toEqual(["function_call_output"]);
    await client.responses.delete(second.id);
    await expect(client.responses.retrieve(second.id)).rejects.toMatchObject({ status: 404 });
  });

  it("responses.stream: reasoning and text events fold into the final response", async () => {
    const stream = client.responses.stream({ model: "kimi-k2.5", input: "Tell me about the plan" });
    let text = "";
    let reasoning = "";
    stream.on("response.output_text.delta", (e) => {
      text += e.delta;
    });
    stream.on("response.reasoning_text.delta", (e) => {
      reasoning += e.delta;
    });
    const final = await stream.finalResponse();
    expect(final.status).toBe("completed");
    expect(text.length).toBeGreaterThan(0);
    expect(final.output_text).toBe(text);
    const item = final.output.find((i) => i.type === "reasoning");
    expect(reasoning.length).toBeGreaterThan(0);
    expect(item?.type === "reasoning" ? item.content?.[0]?.text : undefined).toBe(reasoning);
    expect((await client.responses.retrieve(final.id)).id).toBe(final.id);
  });
});

describe("OpenAI Agents SDK (@openai/agents)", () => {
  const runner = () =>
    new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }) });

  const weatherAgent = (calls: string[]) =>
    new Agent({
      name: "Weather assistant",
      instructions: "Answer weather questions with the get_weather tool.",
      model: "kimi-k2.5",
      tools: [
        tool({
          name: "get_weather",
          description: "Current weather for a city.",
          parameters: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            calls.push(city);
            return `${city}: sunny, ${18 + calls.length}C`;
          },
        }),
      ],
    });

  it("runs a tool-using agent over several turns, continuing with previousResponseId", async () => {
    const calls: string[] = [];
    const agent = weatherAgent(calls);
    const r = runner();
    const first = await r.run(agent, 'What is the weather in "Paris"? use get_weather');
    expect(calls).toEqual(["Paris"]);
    expect(first.finalOutput).toContain("Paris: sunny, 19C");
    expect(first.lastResponseId).toMatch(/^resp_/);
    const second = await r.run(agent, 'And in "Oslo"? use get_weather', {
      previousResponseId: first.lastResponseId!,
    });
    expect(calls).toEqual(["Paris", "Oslo"]);
    expect(second.finalOutput).toContain("Oslo: sunny, 20C");
    // The engine got the whole conversation from the gateway: the first turn's tool call, and
    // K2.5's next call id counting on from it.
    const sent = fx.recorder.responses.at(-2)!;
    expect(JSON.stringify(sent["input"])).toContain("Paris: sunny, 19C");
    expect(sent["previous_response_id"]).toBeUndefined();
    const secondCall = fx.recorder.responses.at(-1)!["input"] as Record<string, unknown>[];
    expect(secondCall.filter((i) => i["type"] === "function_call").map((i) => i["call_id"])).toEqual([
      "functions.get_weather:0",
      "functions.get_weather:1",
    ]);
  });

  it("streams an agent run with a tool call", async () => {
    const calls: string[] = [];
    const result = await runner().run(weatherAgent(calls), 'Weather in "Rome"? use get_weather', {
      stream: true,
    });
    let deltas = "";
    for await (const event of result) {
      if (event.type === "raw_model_stream_event" && event.data.type === "output_text_delta")
        deltas += event.data.delta;
    }
    await result.completed;
    expect(calls).toEqual(["Rome"]);
    expect(result.finalOutput).toContain("Rome: sunny, 19C");
    expect(deltas).toBe(result.finalOutput);
  });
});

describe("LangChain ChatOpenAI({ useResponsesApi: true })", () => {
  const model = () =>
    new ChatOpenAI({
      model: "kimi-k2.5",
      apiKey: secret,
      configuration: { baseURL: `${fx.url}/v1` },
      useResponsesApi: true,
      maxRetries: 0,
    });

  it("invokes, streams, and calls a bound tool", async () => {
    const reply = await model().invoke("Tell me about the plan");
    expect(typeof reply.content === "string" ? reply.content : reply.text).not.toBe("");
    expect(reply.usage_metadata?.output_tokens).toBeGreaterThan(0);
    let streamed = "";
    for await (const chunk of await model().stream("Tell me about the plan")) streamed += chunk.text;
    expect(streamed.length).toBeGreaterThan(0);
    const weather = langchainTool(async ({ city }: { city: string }) => `${city}: sunny`, {
      name: "get_weather",
      description: "Current weather for a city.",
      schema: z.object({ city: z.string() }),
    });
    const withTools = model().bindTools([weather]);
    const ask = await withTools.invoke('Use get_weather for "Lima".');
    expect(ask.tool_calls?.[0]).toMatchObject({ name: "get_weather", args: { city: "Lima" } });
    const toolMessage = await weather.invoke(ask.tool_calls![0]!);
    const answer = await withTools.invoke([
      { role: "user", content: 'Use get_weather for "Lima".' },
      ask,
      toolMessage,
    ]);
    expect(answer.text).toContain("Lima: sunny");
  });
});
