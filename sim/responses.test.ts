import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "./server.ts";
import { postJson, startSimulator } from "./testing.ts";

/** Parses `event: <type>\ndata: <json>` frames (the Responses API's SSE framing). */
async function postEvents(url: string, body: unknown) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const raw = await res.text();
  const frames = raw.split("\n\n").filter(Boolean);
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on arbitrary event JSON.
  const events = frames.map((f): any => {
    const [eventLine, dataLine] = f.split("\n");
    const data = JSON.parse(dataLine!.replace(/^data: /, ""));
    expect(eventLine).toBe(`event: ${data.type}`);
    return data;
  });
  return { status: res.status, type: res.headers.get("content-type"), raw, events };
}

const tools = [
  {
    type: "function",
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
];

describe("simulator POST /v1/responses (vLLM 0.20.2 shape)", () => {
  let sim: Simulator;
  let llama: Simulator;
  let url: string;
  let llamaUrl: string;
  beforeAll(async () => {
    const a = await startSimulator({ model: "kimi-k2.5" });
    sim = a.sim;
    url = a.url;
    const b = await startSimulator({ model: "kimi-k2.5-q2" });
    llama = b.sim;
    llamaUrl = b.url;
  });
  afterAll(async () => {
    await sim.close();
    await llama.close();
  });

  it("answers a string input with reasoning and message items and Responses usage", async () => {
    const { status, json } = await postJson(`${url}/v1/responses`, {
      model: "kimi-k2.5",
      input: "Hello there",
    });
    expect(status).toBe(200);
    expect(json.object).toBe("response");
    expect(json.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(json.status).toBe("completed");
    const types = json.output.map((i: { type: string }) => i.type);
    expect(types).toEqual(["reasoning", "message"]);
    expect(json.output[0].id).toMatch(/^rs_/);
    expect(json.output[0].content[0].type).toBe("reasoning_text");
    expect(json.output[1].id).toMatch(/^msg_/);
    expect(json.output[1].content[0]).toMatchObject({ type: "output_text", annotations: [] });
    const u = json.usage;
    expect(u.total_tokens).toBe(u.input_tokens + u.output_tokens);
    expect(u.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(u.output_tokens_details.reasoning_tokens).toBeLessThan(u.output_tokens);
  });

  it("calls a function with a K2.5 call id, then answers from its output", async () => {
    const first = await postJson(`${url}/v1/responses`, {
      model: "kimi-k2.5",
      input: "What is the weather in Paris? use get_weather",
      tools,
    });
    const call = first.json.output.find((i: { type: string }) => i.type === "function_call");
    expect(call).toMatchObject({
      name: "get_weather",
      status: "completed",
      call_id: "functions.get_weather:0",
    });
    expect(call.id).toMatch(/^fc_/);
    expect(JSON.parse(call.arguments)).toHaveProperty("city");
    const second = await postJson(`${url}/v1/responses`, {
      model: "kimi-k2.5",
      input: [
        { role: "user", content: "What is the weather in Paris? use get_weather" },
        call,
        { type: "function_call_output", call_id: call.call_id, output: "sunny, 21C" },
      ],
      tools,
    });
    const message = second.json.output.find((i: { type: string }) => i.type === "message");
    expect(message.content[0].text).toContain("sunny, 21C");
  });

  it("streams vLLM's event sequence with sequence numbers, no [DONE]", async () => {
    const { status, type, raw, events } = await postEvents(`${url}/v1/responses`, {
      model: "kimi-k2.5",
      input: "Hello there",
      stream: true,
    });
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/event-stream/);
    expect(raw).not.toContain("[DONE]");
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_e, i) => i));
    const kinds = [...new Set(events.map((e) => e.type))];
    expect(kinds).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.reasoning_part.done",
      "response.output_item.done",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.completed",
    ]);
    const text = events
      .filter((e) => e.type === "response.output_text.delta")
      .map((e) => e.delta)
      .join("");
    const completed = events.at(-1).response;
    expect(completed.output.at(-1).content[0].text).toBe(text);
    expect(completed.usage.output_tokens).toBeGreaterThan(0);
    expect(events[0].response).toMatchObject({ status: "in_progress", output: [], usage: null });
  });

  it("streams function-call arguments; the completed response keeps the parser's call id", async () => {
    const { events } = await postEvents(`${url}/v1/responses`, {
      model: "kimi-k2.5",
      input: "use get_weather for Oslo",
      tools,
      stream: true,
    });
    const added = events.find(
      (e) => e.type === "response.output_item.added" && e.item.type === "function_call",
    );
    expect(added.item.call_id).toMatch(/^call_/);
    const args = events
      .filter((e) => e.type === "response.function_call_arguments.delta")
      .map((e) => e.delta)
      .join("");
    const done = events.find((e) => e.type === "response.function_call_arguments.done");
    expect(done.arguments).toBe(args);
    const completed = events.at(-1).response;
    expect(completed.output.at(-1)).toMatchObject({
      type: "function_call",
      call_id: "functions.get_weather:0",
    });
  });

  it("is incomplete with max_output_tokens when the budget ends the reply", async () => {
    const { json } = await postJson(`${url}/v1/responses`, {
      model: "kimi-k2.5",
      input: "Hi",
      max_output_tokens: 3,
    });
    expect(json.status).toBe("incomplete");
    expect(json.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(json.usage.output_tokens).toBe(3);
  });

  it("keeps nothing: previous_response_id and GET of an id are vLLM's 404", async () => {
    const prev = await postJson(`${url}/v1/responses`, {
      model: "kimi-k2.5",
      input: "Hi",
      previous_response_id: "resp_abc",
    });
    expect(prev.status).toBe(404);
    expect(prev.json.error).toEqual({
      message: "Response with id 'resp_abc' not found.",
      type: "invalid_request_error",
      param: "response_id",
      code: 404,
    });
    const got = await fetch(`${url}/v1/responses/resp_abc`);
    expect(got.status).toBe(404);
  });

  it("refuses an unknown model and a missing input like vLLM", async () => {
    const model = await postJson(`${url}/v1/responses`, { model: "nope", input: "Hi" });
    expect(model.status).toBe(404);
    const missing = await postJson(`${url}/v1/responses`, { model: "kimi-k2.5" });
    expect(missing.status).toBe(400);
    expect(missing.json.error.code).toBe(400);
  });

  it("llama-server has no /v1/responses", async () => {
    const res = await postJson(`${llamaUrl}/v1/responses`, { input: "Hi" });
    expect(res.status).toBe(404);
  });
});
