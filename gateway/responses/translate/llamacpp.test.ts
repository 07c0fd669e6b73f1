/**
 * The translation against real engine output: the simulator in llama.cpp mode (llama-server's
 * chat completions, `reasoning_content`, K2.5 tool ids, no /v1/responses), its real SSE fed
 * through the stream class, and the `openai` SDK's Responses helpers reading what comes out.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../../sim/server.ts";
import { postJson, postSse, startSimulator } from "../../../sim/testing.ts";
import { GatewayError } from "../../errors.ts";
import { ChatToResponseStream, inputItems, toChatRequest, toResponse } from "./index.ts";
import { eventOrderProblems } from "./spec/eventOrder.ts";
import { eventViolations, responseViolations } from "./spec/validate.ts";

type Json = Record<string, unknown>;

const MODEL = "kimi-k2.5-q2";
const weather = {
  type: "function",
  name: "get_weather",
  description: "Current weather of a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

let sim: Simulator;
let simUrl: string;
let seq = 0;

/** One Responses request served the way a translating gateway would: through chat completions. */
async function respond(body: Json): Promise<{ response: Json; events: Json[] }> {
  // A fixed created_at: two requests a second apart must still compare equal.
  const ctx = { id: `resp_sim${seq++}`, createdAt: 1_764_000_000, body };
  const chat = toChatRequest(body, inputItems(body["input"]));
  if (body["stream"] !== true) {
    const res = await postJson(`${simUrl}/v1/chat/completions`, chat);
    expect(res.status).toBe(200);
    return { response: toResponse(res.json, ctx), events: [] };
  }
  const sse = await postSse(`${simUrl}/v1/chat/completions`, chat);
  expect(sse.status).toBe(200);
  const stream = new ChatToResponseStream(ctx);
  const events: Json[] = [];
  for (const chunk of sse.events) events.push(...stream.push(chunk));
  events.push(...stream.end());
  return { response: stream.response!, events };
}

function withoutVolatile(r: Json): Json {
  const { id: _i, completed_at: _c, ...rest } = r;
  return JSON.parse(JSON.stringify(rest).replaceAll(/_sim\d+_/g, "_X_"));
}

beforeAll(async () => {
  ({ sim, url: simUrl } = await startSimulator({ model: MODEL }));
});
afterAll(() => sim.close());

describe("translation against the llama.cpp simulator", () => {
  it("streams reasoning and text as spec-valid events in OpenAI's order, equal to the non-streamed Response", async () => {
    const body = { model: MODEL, input: "Tell me about tea." };
    const streamed = await respond({ ...body, stream: true });
    const whole = await respond(body);
    expect(streamed.events.length).toBeGreaterThan(6);
    for (const e of streamed.events) expect(eventViolations(e)).toEqual([]);
    expect(eventOrderProblems(streamed.events)).toEqual([]);
    expect(responseViolations(whole.response)).toEqual([]);
    const types = (whole.response["output"] as Json[]).map((o) => o["type"]);
    expect(types).toEqual(["reasoning", "message"]);
    expect(streamed.events.some((e) => e["type"] === "response.reasoning_text.delta")).toBe(true);
    expect(withoutVolatile(streamed.response)).toEqual(
      withoutVolatile({ ...whole.response, stream: undefined }),
    );
    expect((whole.response["usage"] as Json)["output_tokens"]).toBeGreaterThan(0);
  });

  it("runs a function-call round trip: call items out, call output back in, an answer that uses it", async () => {
    const first = await respond({
      model: MODEL,
      input: "Use get_weather for Paris.",
      tools: [weather],
      stream: true,
    });
    for (const e of first.events) expect(eventViolations(e)).toEqual([]);
    expect(eventOrderProblems(first.events)).toEqual([]);
    const output = first.response["output"] as Json[];
    const call = output.find((o) => o["type"] === "function_call")!;
    expect(call).toMatchObject({
      name: "get_weather",
      call_id: "functions.get_weather:0",
      status: "completed",
    });
    expect(JSON.parse(String(call["arguments"]))).toHaveProperty("city");
    expect(
      first.events.filter((e) => e["type"] === "response.function_call_arguments.delta").length,
    ).toBeGreaterThan(0);

    // The client sends back the whole history (what the gateway rebuilds from previous_response_id).
    const second = await respond({
      model: MODEL,
      tools: [weather],
      input: [
        { role: "user", content: "Use get_weather for Paris." },
        ...output,
        { type: "function_call_output", call_id: call["call_id"], output: "sunny, 24C" },
      ],
    });
    expect(responseViolations(second.response)).toEqual([]);
    const answer = (second.response["output"] as Json[]).find((o) => o["type"] === "message")!;
    expect(JSON.stringify(answer["content"])).toContain("sunny, 24C");
  });

  it("turns thinking off with reasoning.effort none and reports a token-limited reply as incomplete", async () => {
    const off = await respond({ model: MODEL, input: "hi", reasoning: { effort: "none" }, stream: true });
    expect((off.response["output"] as Json[]).map((o) => o["type"])).toEqual(["message"]);
    const cut = await respond({
      model: MODEL,
      input: "Write a long essay.",
      max_output_tokens: 16,
      stream: true,
    });
    expect(cut.events.at(-1)!["type"]).toBe("response.incomplete");
    expect(cut.response).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
    });
    expect((cut.response["usage"] as Json)["output_tokens"]).toBe(16);
    for (const e of cut.events) expect(eventViolations(e)).toEqual([]);
  });

  it("ends with response.failed when the engine sends its mid-stream error event", async () => {
    const { sim: faulty, url } = await startSimulator({
      model: MODEL,
      faults: [{ mode: "error_mid_stream", afterChunks: 4 }],
    });
    try {
      const body = { model: MODEL, input: "Tell me about tea.", stream: true };
      const sse = await postSse(`${url}/v1/chat/completions`, toChatRequest(body, inputItems(body.input)));
      expect(sse.events.at(-1)).toHaveProperty("error");
      const stream = new ChatToResponseStream({ id: "resp_err", createdAt: 1, body });
      const events: Json[] = [];
      for (const chunk of sse.events) events.push(...stream.push(chunk));
      events.push(...stream.end());
      expect(eventOrderProblems(events)).toEqual([]);
      for (const e of events) expect(eventViolations(e)).toEqual([]);
      expect(events.at(-1)!["type"]).toBe("response.failed");
      expect(stream.response).toMatchObject({ status: "failed", error: { code: "server_error" } });
      expect(String((stream.response!["error"] as Json)["message"]).length).toBeGreaterThan(0);
    } finally {
      await faulty.close();
    }
  });

  it("sends structured-output requests the engine accepts", async () => {
    const { response } = await respond({
      model: MODEL,
      input: "A person.",
      reasoning: { effort: "none" },
      text: {
        format: {
          type: "json_schema",
          name: "person",
          schema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
        },
      },
    });
    const text = ((response["output"] as Json[])[0]!["content"] as Json[])[0]!["text"];
    expect(JSON.parse(String(text))).toHaveProperty("name");
  });
});

describe("translation of vLLM-flavoured chat streams (a vLLM engine behind the translation)", () => {
  it("gives the same Response streamed and not, with reasoning from vLLM's `reasoning` field", async () => {
    const { sim: vllm, url } = await startSimulator({ model: "qwen3-32b" });
    try {
      for (const body of [
        { model: "qwen3-32b", input: "Tell me about tea." },
        { model: "qwen3-32b", input: "Use get_weather for Lima.", tools: [weather] },
      ]) {
        const ctx = { id: "resp_v", createdAt: 1, body };
        const whole = await postJson(
          `${url}/v1/chat/completions`,
          toChatRequest(body, inputItems(body.input)),
        );
        const sse = await postSse(
          `${url}/v1/chat/completions`,
          toChatRequest({ ...body, stream: true }, inputItems(body.input)),
        );
        const stream = new ChatToResponseStream(ctx);
        const events: Json[] = [];
        for (const chunk of sse.events) events.push(...stream.push(chunk));
        events.push(...stream.end());
        expect(eventOrderProblems(events)).toEqual([]);
        for (const e of events) expect(eventViolations(e)).toEqual([]);
        const expected = toResponse(whole.json, ctx);
        expect((expected["output"] as Json[])[0]).toMatchObject({ type: "reasoning" });
        expect(withoutVolatile(stream.response!)).toEqual(withoutVolatile(expected));
      }
    } finally {
      await vllm.close();
    }
  });
});

/** A stand-in for the gateway route: POST /v1/responses translated onto the simulator. */
function responsesServer(): Promise<{ server: Server; url: string }> {
  const read = async (req: IncomingMessage) => {
    let raw = "";
    for await (const piece of req) raw += piece;
    return JSON.parse(raw) as Json;
  };
  const server = createServer(async (req, res) => {
    const body = await read(req);
    try {
      const { response, events } = await respond(body);
      if (body["stream"] !== true) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(response));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const e of events) res.write(`event: ${String(e["type"])}\ndata: ${JSON.stringify(e)}\n\n`);
      res.end();
    } catch (err) {
      const e = err instanceof GatewayError ? err : null;
      res
        .writeHead(e?.status ?? 500, { "content-type": "application/json" })
        .end(JSON.stringify(e?.toBody() ?? { error: { message: String(err) } }));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` }),
    ),
  );
}

describe("the openai SDK reads the translation", () => {
  let server: Server;
  let client: OpenAI;
  beforeAll(async () => {
    const started = await responsesServer();
    server = started.server;
    client = new OpenAI({ baseURL: started.url, apiKey: "test", maxRetries: 0 });
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it("responses.create gives output_text and usage", async () => {
    const res = await client.responses.create({
      model: MODEL,
      input: "Tell me about tea.",
      instructions: "Brief.",
    });
    expect(res.status).toBe("completed");
    expect(res.output_text.length).toBeGreaterThan(0);
    expect(res.usage?.input_tokens).toBeGreaterThan(0);
  });

  it("responses.stream emits text deltas and a final response equal to the completed event", async () => {
    const stream = client.responses.stream({ model: MODEL, input: "Tell me about tea." });
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
    expect(final.output_text).toBe(text);
    expect(reasoning.length).toBeGreaterThan(0);
    expect(final.output.map((o) => o.type)).toEqual(["reasoning", "message"]);
  });

  it("runs a tool-using conversation over several turns with the SDK's stream helper", async () => {
    const tools = [{ ...weather, strict: false }] as OpenAI.Responses.FunctionTool[];
    const history: OpenAI.Responses.ResponseInputItem[] = [
      { role: "user", content: "Use get_weather for Rome." },
    ];
    const first = await client.responses.stream({ model: MODEL, input: history, tools }).finalResponse();
    const call = first.output.find((o) => o.type === "function_call");
    expect(call?.type === "function_call" && call.name).toBe("get_weather");
    if (call?.type !== "function_call") return;
    let argDeltas = "";
    history.push(...(first.output as OpenAI.Responses.ResponseInputItem[]), {
      type: "function_call_output",
      call_id: call.call_id,
      output: "cloudy, 18C",
    });
    const secondStream = client.responses.stream({ model: MODEL, input: history, tools });
    secondStream.on("response.function_call_arguments.delta", (e) => {
      argDeltas += e.delta;
    });
    const second = await secondStream.finalResponse();
    expect(second.output_text).toContain("cloudy, 18C");
    expect(argDeltas).toBe("");
    history.push(...(second.output as OpenAI.Responses.ResponseInputItem[]), {
      role: "user",
      content: "Thanks! Now use get_weather for Oslo.",
    });
    const third = await client.responses.stream({ model: MODEL, input: history, tools }).finalResponse();
    expect(
      third.output.some((o) => o.type === "function_call" && o.call_id === "functions.get_weather:1"),
    ).toBe(true);
  });

  it("surfaces a refused request as the SDK's BadRequestError with the parameter", async () => {
    const err = await client.responses
      .create({ model: MODEL, input: "x", tools: [{ type: "web_search" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("tools[0].type");
  });
});
