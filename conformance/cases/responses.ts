/**
 * The Responses API (`/v1/responses`): schema-validated against OpenAI's spec (Response,
 * ResponseStreamEvent, ResponseItemList), the streamed event order, a function-call round trip,
 * `previous_response_id` continuation and its stored-response routes, and responses belonging
 * to the key that made them. Runs against any target: the gateway on the simulator or on the
 * reference vLLM, or a deployed stack.
 */
import { ConformanceFailure, checkErrorShape, checkSpec, jsonBody } from "../lib/checks.ts";
import { tierExtremes } from "../lib/gonka.ts";
import type { Capability, SuiteContext } from "../lib/suite.ts";
import { assert, type Case, modelFor, type Skip } from "./types.ts";

type Json = Record<string, unknown>;

const weather = {
  type: "function",
  name: "get_weather",
  description: "Current weather for a city.",
  parameters: {
    type: "object",
    properties: { city: { type: "string", description: "City name" } },
    required: ["city"],
  },
};
const weatherAsk = 'Use get_weather to tell me the weather in "Paris".';

async function create(s: SuiteContext, body: Json, auth?: string): Promise<Json> {
  const res = await s.raw("/v1/responses", { body, ...(auth ? { auth } : {}) });
  const json = (await jsonBody(res)) as Json;
  assert(res.status === 200, `POST /v1/responses: HTTP ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  checkSpec("Response", json, `response ${JSON.stringify(json["output"]).slice(0, 600)}`);
  return json;
}

const items = (r: Json) => (r["output"] ?? []) as Json[];
const usage = (r: Json) =>
  r["usage"] as { input_tokens: number; output_tokens: number; total_tokens: number };

/** `event: <type>` + `data: <json>` frames, each checked against ResponseStreamEvent. */
async function streamEvents(s: SuiteContext, body: Json): Promise<Json[]> {
  const res = await s.raw("/v1/responses", { body: { ...body, stream: true } });
  if (res.status !== 200)
    throw new ConformanceFailure(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  assert(
    /^text\/event-stream/.test(res.headers.get("content-type") ?? ""),
    `content type ${res.headers.get("content-type")}`,
  );
  const raw = await res.text();
  const events: Json[] = [];
  for (const frame of raw.split(/\r?\n\r?\n/).filter((f) => f.trim())) {
    const lines = frame.split(/\r?\n/);
    const eventLine = lines.find((l) => l.startsWith("event:"));
    const data = lines
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart())
      .join("\n");
    assert(data !== "[DONE]", "the Responses stream sent a chat-style [DONE]");
    const event = JSON.parse(data) as Json;
    if (eventLine) {
      const name = eventLine.slice(6).trim();
      assert(name === event["type"], `event line ${name} carries data of type ${event["type"]}`);
    }
    // The event itself in the message: a union schema's errors alone rarely say which field is wrong.
    checkSpec("ResponseStreamEvent", event, `stream event ${JSON.stringify(event).slice(0, 600)}`);
    events.push(event);
  }
  return events;
}

/** OpenAI's event order: created first, a terminal event last, items opened before their parts. */
function checkEventOrder(events: Json[]): Json {
  assert(events.length >= 3, `only ${events.length} events`);
  assert(events[0]!["type"] === "response.created", `first event ${events[0]!["type"]}`);
  const last = events.at(-1)!;
  assert(
    last["type"] === "response.completed" || last["type"] === "response.incomplete",
    `last event ${last["type"]}`,
  );
  let previous = -1;
  const open = new Set<number>();
  const text = new Map<string, string>();
  for (const e of events) {
    const seq = e["sequence_number"] as number;
    assert(seq > previous, `sequence_number ${seq} after ${previous}`);
    previous = seq;
    const type = e["type"] as string;
    const index = e["output_index"] as number | undefined;
    if (type === "response.output_item.added") open.add(index!);
    else if (index !== undefined)
      assert(open.has(index), `${type} for output ${index} before its output_item.added`);
    const key = `${index}:${e["content_index"] ?? ""}`;
    if (type === "response.output_text.delta") text.set(key, (text.get(key) ?? "") + (e["delta"] as string));
    if (type === "response.output_text.done") {
      assert(e["text"] === (text.get(key) ?? ""), `output_text.done differs from its deltas at ${key}`);
    }
  }
  return last["response"] as Json;
}

/** The text of the response's message items. */
function outputText(r: Json): string {
  return items(r)
    .filter((i) => i["type"] === "message")
    .flatMap((i) => i["content"] as Json[])
    .map((p) => (p["text"] as string) ?? "")
    .join("");
}

function functionCall(r: Json, name: string): Json {
  const call = items(r).find((i) => i["type"] === "function_call");
  assert(call, `no function_call item in ${JSON.stringify(items(r).map((i) => i["type"]))}`);
  assert(call["name"] === name, `called ${call["name"]}, expected ${name}`);
  assert(typeof call["call_id"] === "string" && call["call_id"], "function_call without call_id");
  try {
    JSON.parse(call["arguments"] as string);
  } catch {
    throw new ConformanceFailure(`function_call arguments are not JSON: ${call["arguments"]}`);
  }
  return call;
}

function needKeys(s: SuiteContext, skip: Skip): void {
  const keys = s.feature("api_keys");
  if (!keys.on) skip(`stored responses belong to API keys: ${keys.reason}`);
}

/** The model a case runs on, given the capability it needs (or a skip naming what is missing). */
type Pick = (s: SuiteContext, cap: Capability, skip: Skip) => string;

/**
 * The same cases on a llama.cpp-served model, when the target reports one (`/gonka/info`,
 * `engine: "llamacpp"`): llama-server has no Responses API, so these check the gateway's
 * translation to chat completions against the same spec and behaviour as the passthrough.
 */
export function translatedResponsesCases(s: SuiteContext): Case[] {
  const id = s.info?.models.find((m) => m.engine === "llamacpp" && s.modelsWith("chat").includes(m.id))?.id;
  if (!id) return [];
  const pick: Pick = (suite, cap, skip) =>
    suite.modelsWith(cap).includes(id) ? id : skip(`${id} does not list the "${cap}" capability`);
  return cases(pick).map((c) => ({
    ...c,
    name: c.name.replace(/^responses:/, `responses on ${id} (llama.cpp, translated):`),
  }));
}

export const responsesCases: Case[] = cases(modelFor);

function cases(modelFor: Pick): Case[] {
  return [
    {
      name: "responses: a non-streamed response matches OpenAI's Response, with Responses usage",
      async run(s, skip) {
        const model = modelFor(s, "chat", skip);
        const r = await create(s, { model, input: "Say hello.", max_output_tokens: 256 });
        assert(r["object"] === "response", `object ${r["object"]}`);
        assert(r["status"] === "completed" || r["status"] === "incomplete", `status ${r["status"]}`);
        const u = usage(r);
        assert(u && u.input_tokens > 0 && u.output_tokens > 0, `usage ${JSON.stringify(u)}`);
        assert(u.total_tokens === u.input_tokens + u.output_tokens, `usage total ${JSON.stringify(u)}`);
        assert(items(r).length > 0, "no output items");
      },
    },
    {
      name: "responses: the stream sends OpenAI's events in order, ending with the whole response",
      async run(s, skip) {
        const model = modelFor(s, "chat", skip);
        const events = await streamEvents(s, { model, input: "Say hello.", max_output_tokens: 256 });
        const final = checkEventOrder(events);
        checkSpec("Response", final, "the terminal event's response");
        assert(usage(final)?.output_tokens > 0, "the terminal event's response has no usage");
        const streamed = events
          .filter((e) => e["type"] === "response.output_text.delta")
          .map((e) => e["delta"])
          .join("");
        assert(streamed === outputText(final), "the text deltas differ from the final response's text");
      },
    },
    {
      name: "responses: a function call round trip (function_call, function_call_output, answer)",
      async run(s, skip) {
        const model = modelFor(s, "tools", skip);
        const first = await create(s, { model, input: weatherAsk, tools: [weather], store: false });
        const call = functionCall(first, "get_weather");
        const second = await create(s, {
          model,
          store: false,
          tools: [weather],
          input: [
            { role: "user", content: weatherAsk },
            ...items(first),
            { type: "function_call_output", call_id: call["call_id"], output: '{"temperature_c": 21}' },
          ],
        });
        assert(
          items(second).some((i) => i["type"] === "message"),
          `no answer after the tool result: ${JSON.stringify(items(second).map((i) => i["type"]))}`,
        );
      },
    },
    {
      name: "responses: a streamed function call sends its arguments as deltas",
      async run(s, skip) {
        const model = modelFor(s, "tools", skip);
        const events = await streamEvents(s, { model, input: weatherAsk, tools: [weather], store: false });
        const final = checkEventOrder(events);
        functionCall(final, "get_weather");
        const done = events.find((e) => e["type"] === "response.function_call_arguments.done");
        assert(done, "no response.function_call_arguments.done event");
        const deltas = events
          .filter(
            (e) => e["type"] === "response.function_call_arguments.delta" && e["item_id"] === done["item_id"],
          )
          .map((e) => e["delta"])
          .join("");
        assert(deltas === done["arguments"], "the argument deltas differ from function_call_arguments.done");
      },
    },
    {
      name: "responses: previous_response_id continues from the stored response; GET and input_items return it",
      async run(s, skip) {
        needKeys(s, skip);
        const model = modelFor(s, "chat", skip);
        const first = await create(s, { model, input: "My name is Ada. Say hello.", max_output_tokens: 64 });
        const second = await create(s, {
          model,
          previous_response_id: first["id"],
          input: "What is my name?",
          max_output_tokens: 64,
        });
        assert(
          second["previous_response_id"] === first["id"],
          `previous_response_id ${second["previous_response_id"]}`,
        );
        // The continuation's prompt held the first turn: more input than the first turn's whole exchange.
        assert(
          usage(second).input_tokens > usage(first).input_tokens + usage(first).output_tokens / 2,
          `the continuation read ${usage(second).input_tokens} input tokens; the first turn had ${usage(first).input_tokens} in, ${usage(first).output_tokens} out`,
        );
        const got = await s.raw(`/v1/responses/${first["id"]}`);
        const stored = (await jsonBody(got)) as Json;
        assert(got.status === 200, `GET /v1/responses/{id}: HTTP ${got.status}`);
        checkSpec("Response", stored, "retrieved response");
        assert(
          JSON.stringify(stored["output"]) === JSON.stringify(first["output"]),
          "the retrieved output differs",
        );
        const list = await s.raw(`/v1/responses/${second["id"]}/input_items`);
        const page = (await jsonBody(list)) as Json;
        assert(list.status === 200, `input_items: HTTP ${list.status}`);
        checkSpec("ResponseItemList", page, "input_items");
        const data = page["data"] as Json[];
        assert(data.length === 1, `input_items lists ${data.length} items; the request sent one`);
      },
    },
    {
      name: "responses: another key gets 404 for a response (GET, input_items, previous_response_id, DELETE)",
      async run(s, skip) {
        needKeys(s, skip);
        if (!s.feature("admin").on || !s.admin) return skip("making a second key needs the admin API");
        const model = modelFor(s, "chat", skip);
        const mine = await create(s, { model, input: "Keep this to yourself.", max_output_tokens: 16 });
        const { highest } = tierExtremes(await s.admin.tiers());
        const other = await s.admin.createKey("conformance-responses", highest.name);
        const id = mine["id"] as string;
        for (const [method, path, body] of [
          ["GET", `/v1/responses/${id}`, undefined],
          ["GET", `/v1/responses/${id}/input_items`, undefined],
          ["DELETE", `/v1/responses/${id}`, undefined],
          ["POST", "/v1/responses", { model, input: "continue", previous_response_id: id }],
        ] as const) {
          const res = await s.raw(path, { method, auth: other.secret, ...(body ? { body } : {}) });
          checkErrorShape(res.status, await jsonBody(res), 404);
        }
        const still = await s.raw(`/v1/responses/${id}`);
        assert(still.status === 200, `the owner lost the response: HTTP ${still.status}`);
        const deleted = await s.raw(`/v1/responses/${id}`, { method: "DELETE" });
        assert(deleted.status === 200, `DELETE by the owner: HTTP ${deleted.status}`);
        const gone = await s.raw(`/v1/responses/${id}`);
        checkErrorShape(gone.status, await jsonBody(gone), 404);
      },
    },
    {
      name: "responses: the openai client's responses.create and responses.stream work unchanged",
      async run(s, skip) {
        const model = modelFor(s, "chat", skip);
        const created = await s.client.responses.create({
          model,
          input: "Say hello.",
          max_output_tokens: 128,
        });
        assert(
          created.output_text.length > 0 || created.status === "incomplete",
          "responses.create: no output_text",
        );
        const stream = s.client.responses.stream({ model, input: "Say hello.", max_output_tokens: 128 });
        let deltas = "";
        stream.on("response.output_text.delta", (e) => {
          deltas += e.delta;
        });
        const final = await stream.finalResponse();
        assert(
          deltas === final.output_text,
          "responses.stream: deltas differ from finalResponse().output_text",
        );
      },
    },
  ];
}
