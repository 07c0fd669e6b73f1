/**
 * The Responses API through a real gateway (keys, SQLite store, sessions) in front of a real
 * simulator subprocess behind a recording proxy: passthrough, state, the stored-response routes.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_TIERS } from "../sessions/testClient.ts";
import { type SessionFixture, startSessionFixture } from "../sessions/testing.ts";
import { post, setFaults } from "../test/fixtures.ts";
import { responsesOpenApi } from "./openapi.ts";
import { parseEventStream, sessionUsageRow } from "./testing.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests assert on arbitrary response JSON.
type Json = Record<string, any>;

const tools = [
  {
    type: "function",
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
];

let fx: SessionFixture;
let key: { id: string; secret: string };
let other: { id: string; secret: string };
const auth = (k = key) => ({ authorization: `Bearer ${k.secret}` });

async function create(body: Json, k = key): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await post(`${fx.url}/v1/responses`, { model: "kimi-k2.5", ...body }, auth(k));
  return { status: res.status, json: (await res.json()) as Json, headers: res.headers };
}

async function get(path: string, k = key, method = "GET"): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${fx.url}${path}`, { method, headers: auth(k) });
  return { status: res.status, json: (await res.json()) as Json };
}

/** Parses an `event:`-framed stream; every frame's event line must name its data's type. */
async function stream(body: Json): Promise<{ status: number; events: Json[]; raw: string }> {
  const res = await post(`${fx.url}/v1/responses`, { model: "kimi-k2.5", stream: true, ...body }, auth());
  const raw = await res.text();
  const events = parseEventStream(raw);
  return { status: res.status, events, raw };
}

const lastSent = (): Json => fx.recorder.responses.at(-1)!;

beforeAll(async () => {
  fx = await startSessionFixture({ config: (c) => ({ ...c, tiers: TEST_TIERS }) });
  key = await fx.newKey();
  other = await fx.newKey();
}, 60_000);
afterAll(() => fx?.close());

describe("POST /v1/responses passthrough (vLLM-served model)", () => {
  it("answers with the gateway's id, keeps the engine stateless, meters Responses usage", async () => {
    const { status, json, headers } = await create({ input: "Hello there" });
    expect(status).toBe(200);
    expect(json["id"]).toMatch(/^resp_[0-9a-f]{24}_[0-9a-f]{16}$/);
    expect(json["object"]).toBe("response");
    expect(json["store"]).toBe(true);
    expect(json["previous_response_id"]).toBeNull();
    expect(headers.get("x-session-id")).toMatch(/^sess_/);
    expect(lastSent()).toMatchObject({ store: false, model: "kimi-k2.5" });
    expect(lastSent()["input"]).toEqual([{ type: "message", role: "user", content: "Hello there" }]);
    const row = await sessionUsageRow(fx, headers.get("x-session-id")!);
    expect(row).toMatchObject({
      requests: 1,
      promptTokens: json["usage"]["input_tokens"],
      completionTokens: json["usage"]["output_tokens"],
      reasoningTokens: json["usage"]["output_tokens_details"]["reasoning_tokens"],
    });
    expect(row!.reasoningTokens).toBeGreaterThan(0);
    const metrics = await (await fetch(`${fx.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/gonka_requests_total\{[^}]*endpoint="responses"[^}]*\} [1-9]/);
  });

  it("streams the engine's events with event lines, the gateway's id, the terminal event last", async () => {
    const { status, events, raw } = await stream({ input: "Hello there" });
    expect(status).toBe(200);
    expect(raw).not.toContain("[DONE]");
    expect(events[0]!["type"]).toBe("response.created");
    expect(events.at(-1)!["type"]).toBe("response.completed");
    const id = events[0]!["response"]["id"];
    expect(id).toMatch(/^resp_[0-9a-f]{24}_/);
    expect(events.at(-1)!["response"]["id"]).toBe(id);
    expect(events.map((e) => e["sequence_number"])).toEqual(events.map((_e, i) => i));
    // Stored before the terminal event reached the client.
    const stored = await get(`/v1/responses/${id}`);
    expect(stored.status).toBe(200);
    expect(stored.json["output"]).toEqual(events.at(-1)!["response"]["output"]);
    expect(lastSent()["stream_options"]).toBeUndefined();
    // vLLM's reasoning_part events (not OpenAI's: the openai SDK throws on them) as content_part ones.
    expect(raw).not.toContain("response.reasoning_part");
    const part = events.find((e) => e["type"] === "response.content_part.added")!;
    expect(part["part"]).toEqual({ text: "", type: "reasoning_text" });
    expect(events[2]!["item"]).toMatchObject({ type: "reasoning", content: [] });
  });

  it("fills what OpenAI's Response has and vLLM leaves null or out", async () => {
    const { json } = await create({ input: "Hello there", tools });
    expect(json["error"]).toBeNull();
    expect(json["output"][0]).toMatchObject({ type: "reasoning" });
    expect(json["output"][0]).not.toHaveProperty("status");
    expect(json["tools"][0]).toEqual({ ...tools[0], strict: null });
    // vLLM's unset item fields (`namespace`, `async`, `caller` as null) are left out, as OpenAI does.
    const call = json["output"].find((i: Json) => i["type"] === "function_call");
    expect(Object.keys(call).sort()).toEqual(["arguments", "call_id", "id", "name", "status", "type"]);
    // vLLM's per-turn lists in the usage details (the Agents SDK rejects them); the counts stay.
    expect(json["usage"]["input_tokens_details"]).toEqual({ cached_tokens: 0 });
    expect(Object.keys(json["usage"]["output_tokens_details"]).sort()).toEqual([
      "reasoning_tokens",
      "tool_output_tokens",
    ]);
    const plain = await create({ input: "Hello there" });
    const message = plain.json["output"].find((i: Json) => i["type"] === "message");
    expect(message["content"][0]["logprobs"]).toEqual([]);
  });

  it("refuses what it cannot serve with OpenAI-shaped 400s before any engine call", async () => {
    const sent = fx.recorder.responses.length;
    const missing = await create({});
    expect(missing.status).toBe(400);
    expect(missing.json["error"]).toMatchObject({ type: "invalid_request_error", param: "input" });
    const background = await create({ input: "Hi", background: true });
    expect(background.json["error"]["param"]).toBe("background");
    const choice = await create({ input: "Hi", tools, tool_choice: { type: "function", name: "nope" } });
    expect(choice.status).toBe(400);
    expect(choice.json["error"]["param"]).toBe("tool_choice");
    const temp = await create({ input: "Hi", temperature: 5 });
    expect(temp.json["error"]["param"]).toBe("temperature");
    const conversation = await create({ input: "Hi", conversation: "conv_1" });
    expect(conversation.json["error"]).toMatchObject({
      param: "conversation",
      code: "unsupported_parameter",
    });
    expect(fx.recorder.responses.length).toBe(sent);
  });

  it("a stream the engine breaks ends with an error event and stores nothing", async () => {
    await setFaults(fx.sim, [
      { mode: "drop_mid_stream", afterChunks: 4, paths: ["/v1/responses"], count: 1 },
    ]);
    const { events } = await stream({ input: "Hello there" });
    expect(events.at(-1)).toMatchObject({ type: "error", code: "upstream_error" });
    expect(events.at(-1)!["sequence_number"]).toBe(events.at(-2)!["sequence_number"] + 1);
    expect(events.some((e) => e["type"] === "response.completed")).toBe(false);
    const id = events[0]!["response"]["id"];
    expect((await get(`/v1/responses/${id}`)).status).toBe(404);
  });

  it("a client that goes away mid-stream stores nothing and leaves its chain free", async () => {
    const first = await create({ input: "start a chain" });
    await setFaults(fx.sim, [{ mode: "slow_tokens", ms: 40, paths: ["/v1/responses"], count: 1 }]);
    const abort = new AbortController();
    const res = await fetch(`${fx.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth() },
      body: JSON.stringify({
        model: "kimi-k2.5",
        stream: true,
        input: "go on",
        previous_response_id: first.json["id"],
      }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    const created = JSON.parse(new TextDecoder().decode(value).split("\n")[1]!.slice(6)) as Json;
    abort.abort();
    await new Promise((r) => setTimeout(r, 300));
    expect((await get(`/v1/responses/${created["response"]["id"]}`)).status).toBe(404);
    // The chain's lock was released: the next continuation goes on in the same session.
    const next = await create({ input: "again", previous_response_id: first.json["id"] });
    expect(next.status).toBe(200);
    expect(next.json["id"].slice(5, 29)).toBe(first.json["id"].slice(5, 29));
  });

  it("an engine's 400 is passed on in OpenAI's shape, as for chat completions", async () => {
    const res = await create({ input: "Hi", max_output_tokens: 100_000_000 });
    expect(res.status).toBe(400);
    expect(res.json["error"]).toMatchObject({ type: "invalid_request_error" });
    expect(res.json["error"]["message"]).toContain("maximum context length");
  });

  it("needs a valid key", async () => {
    const res = await post(`${fx.url}/v1/responses`, { model: "kimi-k2.5", input: "Hi" });
    expect(res.status).toBe(401);
  });
});

describe("state: store, previous_response_id, the stored-response routes", () => {
  it("rebuilds the whole input from the store for a function-call round trip", async () => {
    const first = await create({
      input: "What is the weather in Paris? use get_weather",
      tools,
      instructions: "Answer briefly.",
    });
    expect(lastSent()["instructions"]).toBe("Answer briefly.");
    const call = first.json["output"].find((i: Json) => i["type"] === "function_call");
    expect(call["call_id"]).toBe("functions.get_weather:0");
    const second = await create({
      previous_response_id: first.json["id"],
      input: [{ type: "function_call_output", call_id: call["call_id"], output: "sunny, 21C" }],
      tools,
    });
    expect(second.status).toBe(200);
    expect(second.json["previous_response_id"]).toBe(first.json["id"]);
    const sent = lastSent();
    expect(sent["previous_response_id"]).toBeUndefined();
    expect(sent["store"]).toBe(false);
    // Instructions are not carried over (as OpenAI).
    expect(sent["instructions"]).toBeUndefined();
    expect(sent["input"]).toEqual([
      { type: "message", role: "user", content: "What is the weather in Paris? use get_weather" },
      ...first.json["output"],
      { type: "function_call_output", call_id: call["call_id"], output: "sunny, 21C" },
    ]);
    const message = second.json["output"].find((i: Json) => i["type"] === "message");
    expect(message["content"][0]["text"]).toContain("sunny, 21C");
    // One chain, one session: both responses' usage in it.
    expect(second.json["id"].slice(5, 29)).toBe(first.json["id"].slice(5, 29));
    const session = await get(`/v1/sessions/sess_${first.json["id"].slice(5, 29)}`);
    expect(session.json["usage"]["requests"]).toBe(2);
    expect(session.json["messages"].map((m: Json) => [m["object"], m["id"]])).toEqual([
      ["gonka.response", first.json["id"]],
      ["gonka.response", second.json["id"]],
    ]);
  });

  it("a continuation of an older response forks with the right context", async () => {
    const a = await create({ input: "first" });
    const b = await create({ previous_response_id: a.json["id"], input: "second" });
    const c = await create({ previous_response_id: a.json["id"], input: "other second" });
    expect(c.status).toBe(200);
    expect(c.json["id"].slice(5, 29)).not.toBe(b.json["id"].slice(5, 29));
    expect(lastSent()["input"]).toEqual([
      { type: "message", role: "user", content: "first" },
      ...a.json["output"],
      { type: "message", role: "user", content: "other second" },
    ]);
    const d = await create({ previous_response_id: c.json["id"], input: "third" });
    expect(lastSent()["input"]).toHaveLength(7);
    expect(d.status).toBe(200);
  });

  it("store: false keeps nothing, but may continue a stored response", async () => {
    const a = await create({ input: "remember me" });
    const b = await create({ previous_response_id: a.json["id"], input: "and this", store: false });
    expect(b.status).toBe(200);
    expect(b.json["store"]).toBe(false);
    expect(lastSent()["input"]).toHaveLength(2 + a.json["output"].length);
    expect((await get(`/v1/responses/${b.json["id"]}`)).status).toBe(404);
    const next = await create({ previous_response_id: b.json["id"], input: "x" });
    expect(next.status).toBe(404);
    expect(next.json["error"]).toMatchObject({ param: "previous_response_id", code: "response_not_found" });
  });

  it("another key's response is not found anywhere", async () => {
    const mine = await create({ input: "private" });
    const id = mine.json["id"];
    expect((await get(`/v1/responses/${id}`, other)).status).toBe(404);
    expect((await get(`/v1/responses/${id}/input_items`, other)).status).toBe(404);
    expect((await get(`/v1/responses/${id}`, other, "DELETE")).status).toBe(404);
    expect((await get(`/v1/responses/${id}/cancel`, other, "POST")).status).toBe(404);
    const cont = await create({ previous_response_id: id, input: "steal" }, other);
    expect(cont.status).toBe(404);
    expect((await get(`/v1/responses/${id}`)).status).toBe(200);
  });

  it("lists input items with ids, order and pagination", async () => {
    const input = ["a", "b", "c"].map((t) => ({ role: "user", content: t }));
    const r = await create({ input });
    const all = await get(`/v1/responses/${r.json["id"]}/input_items?order=asc`);
    expect(all.json).toMatchObject({ object: "list", has_more: false });
    expect(all.json["data"].map((i: Json) => i["content"][0]["text"])).toEqual(["a", "b", "c"]);
    expect(all.json["data"][0]).toMatchObject({
      type: "message",
      role: "user",
      content: [{ type: "input_text" }],
    });
    expect(all.json["data"][0]["id"]).toBe(`item_${r.json["id"].slice(5)}_0`);
    const page = await get(`/v1/responses/${r.json["id"]}/input_items?limit=2`);
    expect(page.json["data"].map((i: Json) => i["content"][0]["text"])).toEqual(["c", "b"]);
    expect(page.json["has_more"]).toBe(true);
    const rest = await get(`/v1/responses/${r.json["id"]}/input_items?limit=2&after=${page.json["last_id"]}`);
    expect(rest.json["data"].map((i: Json) => i["content"][0]["text"])).toEqual(["a"]);
    expect(rest.json["has_more"]).toBe(false);
    expect((await get(`/v1/responses/${r.json["id"]}/input_items?limit=0`)).status).toBe(400);
  });

  it("deletes a response; a later one still continues from its context", async () => {
    const a = await create({ input: "one" });
    const b = await create({ previous_response_id: a.json["id"], input: "two" });
    const deleted = await get(`/v1/responses/${a.json["id"]}`, key, "DELETE");
    expect(deleted.json).toEqual({ id: a.json["id"], object: "response", deleted: true });
    expect((await get(`/v1/responses/${a.json["id"]}`)).status).toBe(404);
    expect((await create({ previous_response_id: a.json["id"], input: "x" })).status).toBe(404);
    const c = await create({ previous_response_id: b.json["id"], input: "three" });
    expect(c.status).toBe(200);
    expect(lastSent()["input"][0]).toEqual({ type: "message", role: "user", content: "one" });
    // The last one of a chain goes with its session once nothing else is live.
    await get(`/v1/responses/${b.json["id"]}`, key, "DELETE");
    await get(`/v1/responses/${c.json["id"]}`, key, "DELETE");
    expect((await get(`/v1/sessions/sess_${a.json["id"].slice(5, 29)}`)).status).toBe(404);
  });

  it("a chain at the tier's message cap goes on in a new session with the whole context", async () => {
    const tiny = await fx.newKey("tiny");
    let previous: string | null = null;
    const ids: string[] = [];
    for (let turn = 1; turn <= 5; turn++) {
      const r = await create({ input: `turn ${turn}`, previous_response_id: previous }, tiny);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      previous = r.json["id"];
      ids.push(r.json["id"].slice(5, 29));
    }
    // sessionMaxMessages 4: four responses in the first session, the fifth starts another.
    expect(new Set(ids.slice(0, 4)).size).toBe(1);
    expect(ids[4]).not.toBe(ids[0]);
    const texts = (lastSent()["input"] as Json[])
      .filter((i) => i["role"] === "user")
      .map((i) => i["content"]);
    expect(texts).toEqual(["turn 1", "turn 2", "turn 3", "turn 4", "turn 5"]);
    const next = await create({ input: "turn 6", previous_response_id: previous }, tiny);
    expect(next.json["id"].slice(5, 29)).toBe(ids[4]);
  });

  it("cancel: a finished response cannot be cancelled", async () => {
    const a = await create({ input: "done already" });
    const res = await get(`/v1/responses/${a.json["id"]}/cancel`, key, "POST");
    expect(res.status).toBe(400);
    expect(res.json["error"]["code"]).toBe("response_not_cancellable");
  });
});

describe("the responses OpenAPI document", () => {
  it("is served and names exactly the mounted /v1/responses routes", async () => {
    const served = (await (await fetch(`${fx.opsUrl}/gonka/openapi/responses.json`)).json()) as Json;
    expect(served).toEqual(JSON.parse(JSON.stringify(responsesOpenApi)));
    const dispatch = fx.gateway.app.middleware.find((m) => "router" in m) as unknown as {
      router: { stack: Array<{ path: unknown; methods: string[] }> };
    };
    const mounted = new Set<string>();
    for (const layer of dispatch.router.stack) {
      if (typeof layer.path !== "string" || !layer.path.startsWith("/v1/responses")) continue;
      for (const m of layer.methods)
        if (m !== "HEAD") mounted.add(`${m} ${layer.path.replace(/:(\w+)/g, "{$1}")}`);
    }
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(responsesOpenApi.paths)) {
      for (const m of Object.keys(item)) if (m !== "parameters") documented.add(`${m.toUpperCase()} ${p}`);
    }
    expect([...mounted].sort()).toEqual([...documented].sort());
  });

  it("live answers match its schemas", async () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...JSON.parse(JSON.stringify(responsesOpenApi)), $id: "responses" });
    const check = (schema: string, value: unknown) => {
      const ok = ajv.validate({ $ref: `responses#/components/schemas/${schema}` }, value);
      expect(ok, `${schema}: ${ajv.errorsText()}`).toBe(true);
    };
    const r = await create({ input: "document me" });
    check("Response", r.json);
    check("Response", (await get(`/v1/responses/${r.json["id"]}`)).json);
    check("ItemList", (await get(`/v1/responses/${r.json["id"]}/input_items`)).json);
    check("Error", (await get(`/v1/responses/${r.json["id"]}/cancel`, key, "POST")).json);
    check("ResponseDeleted", (await get(`/v1/responses/${r.json["id"]}`, key, "DELETE")).json);
    check("Error", (await get(`/v1/responses/${r.json["id"]}`)).json);
  });
});
