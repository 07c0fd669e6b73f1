/**
 * `/v1/responses` on a llama.cpp-served model, through a real gateway (keys, SQLite, sessions) in
 * front of the simulator in llama.cpp mode behind a recording proxy: llama-server has no
 * Responses API, so the gateway translates to chat completions and back (translate/). Events and
 * Responses are checked against the OpenAI schemas the conformance suite uses.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { specViolations } from "../../conformance/lib/spec.ts";
import { TEST_TIERS } from "../sessions/testClient.ts";
import { type SessionFixture, startSessionFixture } from "../sessions/testing.ts";
import { post, setFaults } from "../test/fixtures.ts";
import { parseEventStream, sessionUsageRow } from "./testing.ts";
import { eventOrderProblems } from "./translate/spec/eventOrder.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests assert on arbitrary response JSON.
type Json = Record<string, any>;

const MODEL = "kimi-k2.5-q2";
const weather = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather of a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

let fx: SessionFixture;
let secret: string;
const auth = () => ({ authorization: `Bearer ${secret}` });

async function create(body: Json): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await post(`${fx.url}/v1/responses`, { model: MODEL, ...body }, auth());
  return { status: res.status, json: (await res.json()) as Json, headers: res.headers };
}

async function get(path: string): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${fx.url}${path}`, { headers: auth() });
  return { status: res.status, json: (await res.json()) as Json };
}

/** An `event:`-framed stream; each frame's event line names its data's type. */
async function stream(body: Json): Promise<{ status: number; events: Json[]; headers: Headers }> {
  const res = await post(`${fx.url}/v1/responses`, { model: MODEL, stream: true, ...body }, auth());
  const events = parseEventStream(await res.text());
  return { status: res.status, events, headers: res.headers };
}

function expectValidStream(events: Json[]): void {
  for (const e of events) expect(specViolations("ResponseStreamEvent", e), e["type"]).toEqual([]);
  expect(eventOrderProblems(events)).toEqual([]);
}

beforeAll(async () => {
  fx = await startSessionFixture({ preset: MODEL, config: (c) => ({ ...c, tiers: TEST_TIERS }) });
  ({ secret } = await fx.newKey());
}, 60_000);
afterAll(() => fx?.close());

describe("/v1/responses translated to chat completions (llama.cpp)", () => {
  it("answers a Response with the gateway's id, sends the engine a chat request, stores it, meters it", async () => {
    const chatsBefore = fx.recorder.chats.length;
    const { status, json, headers } = await create({ input: "Tell me about tea.", max_output_tokens: 4000 });
    expect(status).toBe(200);
    expect(specViolations("Response", json)).toEqual([]);
    expect(json).toMatchObject({ object: "response", status: "completed", model: MODEL, store: true });
    const id = json["id"] as string;
    expect(id).toMatch(/^resp_[0-9a-f]{24}_[0-9a-f]{16}$/);
    expect(json["output"].map((o: Json) => o["type"])).toEqual(["reasoning", "message"]);
    // Item ids derive from the id the client and the store see.
    expect(json["output"][1]["id"]).toBe(`msg_${id.slice(5)}_1`);
    // llama-server is sent chat completions only; the input became a user message.
    expect(fx.recorder.responses).toHaveLength(0);
    expect(fx.recorder.chats).toHaveLength(chatsBefore + 1);
    expect(fx.recorder.chats.at(-1)).toMatchObject({
      model: MODEL,
      messages: [{ role: "user", content: "Tell me about tea." }],
      max_tokens: 4000,
    });

    const stored = await get(`/v1/responses/${id}`);
    expect(stored.status).toBe(200);
    expect(stored.json).toEqual(json);
    const items = await get(`/v1/responses/${id}/input_items`);
    expect(specViolations("ResponseItemList", items.json)).toEqual([]);
    expect(items.json["data"]).toHaveLength(1);

    const row = await sessionUsageRow(fx, headers.get("x-session-id")!);
    expect(row).toMatchObject({
      requests: 1,
      promptTokens: json["usage"]["input_tokens"],
      completionTokens: json["usage"]["output_tokens"],
    });
    expect(row!.promptTokens).toBeGreaterThan(0);
    expect(row!.completionTokens).toBeGreaterThan(0);
  });

  it("streams spec-valid events in OpenAI's order, the stored Response equal to the last event's", async () => {
    const { status, events, headers } = await stream({ input: "Tell me about tea." });
    expect(status).toBe(200);
    expectValidStream(events);
    expect(events[0]).toMatchObject({ type: "response.created", sequence_number: 0 });
    const id = events[0]!["response"]["id"] as string;
    expect(id).toMatch(/^resp_[0-9a-f]{24}_[0-9a-f]{16}$/);
    expect(events.every((e) => !e["response"] || e["response"]["id"] === id)).toBe(true);
    expect(events.some((e) => e["type"] === "response.reasoning_text.delta")).toBe(true);
    expect(events.some((e) => e["type"] === "response.output_text.delta")).toBe(true);
    const done = events.at(-1)!;
    expect(done["type"]).toBe("response.completed");
    expect(done["response"]["usage"]["output_tokens"]).toBeGreaterThan(0);
    expect(fx.recorder.chats.at(-1)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect((await get(`/v1/responses/${id}`)).json).toEqual(done["response"]);

    const row = await sessionUsageRow(fx, headers.get("x-session-id")!);
    expect(row).toMatchObject({
      promptTokens: done["response"]["usage"]["input_tokens"],
      completionTokens: done["response"]["usage"]["output_tokens"],
    });
  });

  it("runs a function-call round trip over previous_response_id (the gateway rebuilds the input)", async () => {
    const first = await stream({ input: "Use get_weather for Paris.", tools: [weather] });
    expectValidStream(first.events);
    const response = first.events.at(-1)!["response"] as Json;
    const call = response["output"].find((o: Json) => o["type"] === "function_call");
    expect(call).toMatchObject({ name: "get_weather", call_id: "functions.get_weather:0" });
    expect(first.events.some((e) => e["type"] === "response.function_call_arguments.delta")).toBe(true);

    const second = await create({
      previous_response_id: response["id"],
      tools: [weather],
      input: [{ type: "function_call_output", call_id: call["call_id"], output: "sunny, 24C" }],
    });
    expect(second.status).toBe(200);
    expect(specViolations("Response", second.json)).toEqual([]);
    expect(second.json["previous_response_id"]).toBe(response["id"]);
    expect(JSON.stringify(second.json["output"])).toContain("sunny, 24C");
    // The engine got the whole conversation as chat messages: the call and its result.
    const messages = fx.recorder.chats.at(-1)!["messages"] as Json[];
    expect(messages.map((m) => m["role"])).toEqual(["user", "assistant", "tool"]);
    const reasoning = response["output"].find((o: Json) => o["type"] === "reasoning");
    expect(messages[1]!["reasoning_content"]).toBe(reasoning["content"][0]["text"]);
    expect(fx.recorder.chats.at(-1)!["tools"]).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: weather.description,
          parameters: weather.parameters,
          strict: false,
        },
      },
    ]);
    expect(messages[1]!["tool_calls"][0]).toMatchObject({
      id: "functions.get_weather:0",
      function: { name: "get_weather" },
    });
    expect(messages[2]).toMatchObject({ tool_call_id: "functions.get_weather:0", content: "sunny, 24C" });
    // One chain, one session.
    expect(second.headers.get("x-session-id")).toBe(first.headers.get("x-session-id"));
  });

  // The engine's own error event (its message), and a stream that breaks (why it broke).
  it.each([
    { what: "reports an error mid-stream", mode: "error_mid_stream", message: /^Internal server error$/ },
    { what: "breaks its stream", mode: "drop_mid_stream", message: /./ },
  ])("ends with response.failed when the engine $what, and keeps nothing", async ({ mode, message }) => {
    await setFaults(fx.sim, [{ mode, afterChunks: 4, paths: ["/v1/chat/completions"], count: 1 }]);
    const { events } = await stream({ input: "Tell me about tea." });
    expectValidStream(events);
    const last = events.at(-1)!;
    expect(last["type"]).toBe("response.failed");
    expect(last["response"]).toMatchObject({ status: "failed", error: { code: "server_error" } });
    expect(last["response"]["error"]["message"]).toMatch(message);
    expect(events.some((e) => e["type"] === "response.completed" || e["type"] === "error")).toBe(false);
    // A failed answer is not kept, and its chain is free for the next request.
    expect((await get(`/v1/responses/${last["response"]["id"]}`)).status).toBe(404);
  });

  it("refuses what chat completions cannot express with a 400 naming the field, before any engine call", async () => {
    const sent = fx.recorder.chats.length;
    const { status, json } = await create({ input: "hi", tools: [{ type: "web_search" }] });
    expect(status).toBe(400);
    expect(json["error"]).toMatchObject({ type: "invalid_request_error", param: "tools[0].type" });
    expect(fx.recorder.chats).toHaveLength(sent);
  });
});

describe("the openai SDK on a llama.cpp model", () => {
  it("responses.create and responses.stream, continued with previous_response_id", async () => {
    const client = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: secret, maxRetries: 0 });
    const first = await client.responses.create({
      model: MODEL,
      input: "Use get_weather for Paris.",
      tools: [weather],
    });
    const call = first.output.find((i) => i.type === "function_call");
    expect(call).toMatchObject({ name: "get_weather", call_id: "functions.get_weather:0" });

    const events: string[] = [];
    const s = client.responses.stream({
      model: MODEL,
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call!.call_id, output: "sunny, 24C" }],
      tools: [weather],
    });
    for await (const e of s) events.push(e.type);
    const final = await s.finalResponse();
    expect(events[0]).toBe("response.created");
    expect(events.at(-1)).toBe("response.completed");
    expect(final.output_text).toContain("sunny, 24C");
    expect(final.previous_response_id).toBe(first.id);
    expect((await client.responses.retrieve(final.id)).output_text).toBe(final.output_text);
  });
});
