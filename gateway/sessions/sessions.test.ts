/**
 * Sessions end to end (issue 12's acceptance): real HTTP, the real SQLite store, a real
 * simulator subprocess whose received requests a recording proxy keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, readSse } from "../test/fixtures.ts";
import { type SessionFixture, startSessionFixture } from "./testing.ts";

type Msg = Record<string, unknown>;

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];

let fx: SessionFixture;
let alice: { id: string; secret: string };
let bob: { id: string; secret: string };

beforeAll(async () => {
  fx = await startSessionFixture({
    config: (c) => ({
      ...c,
      tiers: {
        standard: { requestsPerMinute: 10_000, tokensPerMinute: 100_000_000, concurrentRequests: 100 },
        tiny: {
          requestsPerMinute: 10_000,
          tokensPerMinute: 100_000_000,
          concurrentRequests: 100,
          sessionMaxMessages: 4,
          sessionMaxBytes: 1_000,
        },
      },
    }),
  });
  alice = await fx.newKey();
  bob = await fx.newKey();
}, 30_000);
afterAll(async () => {
  await fx?.close();
});

const auth = (key: { secret: string }, session?: string) => ({
  authorization: `Bearer ${key.secret}`,
  ...(session ? { "x-session-id": session } : {}),
});

async function chat(messages: Msg[], headers: Record<string, string>, extra: Msg = {}) {
  const res = await post(
    `${fx.url}/v1/chat/completions`,
    { model: "kimi-k2.5", messages, tools, ...extra },
    headers,
  );
  const body = (await res.json()) as Msg;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return ((body["choices"] as Msg[])[0]!["message"] as Msg) ?? {};
}

/** A stream's `data:` events, parsed, and the assistant message a client assembles from them. */
async function chatStream(messages: Msg[], headers: Record<string, string>) {
  const res = await post(
    `${fx.url}/v1/chat/completions`,
    { model: "kimi-k2.5", messages, tools, stream: true },
    headers,
  );
  expect(res.status).toBe(200);
  const data = await readSse(res);
  expect(data.at(-1)).toBe("[DONE]");
  return data.slice(0, -1).map((d) => JSON.parse(d) as Msg);
}

async function getSession(key: { secret: string }, id: string) {
  const res = await fetch(`${fx.url}/v1/sessions/${id}`, { headers: auth(key) });
  return { status: res.status, body: (await res.json()) as Msg };
}

/** The next client turn after `reply`: a tool result after a tool call, else a user question. */
function nextTurn(reply: Msg, n: number): Msg[] {
  const calls = reply["tool_calls"] as Msg[] | undefined;
  if (calls?.length) {
    return calls.map((c) => ({ role: "tool", tool_call_id: c["id"], content: `{"temp": ${20 + n}}` }));
  }
  return [{ role: "user", content: `And question ${n}: what about Lyon?` }];
}

/** An assistant reply as a streaming client assembles it: no null fields, reasoning once. */
function canonical(m: Msg): Msg {
  const calls = (m["tool_calls"] as Msg[] | undefined) ?? [];
  return {
    role: m["role"],
    content: m["content"] ?? null,
    ...(typeof m["reasoning"] === "string" ? { reasoning: m["reasoning"] } : {}),
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  };
}

describe("X-Session-Id on chat completions", () => {
  it("5 turns sending only new messages give the engine exactly the prompts of re-sending everything", async () => {
    const first: Msg[] = [
      { role: "system", content: "You are a weather agent." },
      { role: "user", content: "Weather in Paris?" },
    ];
    // Client A re-sends the whole history (LangGraph, CrewAI…); client B sends only what is new.
    const fullStart = fx.recorder.chats.length;
    let history: Msg[] = [...first];
    let turn: Msg[] = first;
    for (let i = 1; i <= 5; i++) {
      const reply = await chat(history, auth(alice, "resend-all"));
      history = [...history, reply];
      turn = nextTurn(reply, i);
      history = [...history, ...turn];
    }
    const fullPrompts = fx.recorder.chats.slice(fullStart).map((b) => b["messages"]);

    const newStart = fx.recorder.chats.length;
    turn = first;
    const replies: Msg[] = [];
    for (let i = 1; i <= 5; i++) {
      const reply = await chat(turn, auth(alice, "only-new"));
      replies.push(reply);
      turn = nextTurn(reply, i);
    }
    const newPrompts = fx.recorder.chats.slice(newStart).map((b) => b["messages"]);

    expect(newPrompts).toHaveLength(5);
    expect(newPrompts).toEqual(fullPrompts);
    // The conversation really had tool calls with K2.5 ids and reasoning, and grew each turn.
    expect((fullPrompts[4] as Msg[]).length).toBe(2 + 4 * 2);
    const calls = replies.flatMap((r) => (r["tool_calls"] as Msg[] | undefined) ?? []);
    expect(calls.map((c) => c["id"])).toEqual([
      "functions.get_weather:0",
      "functions.get_weather:1",
      "functions.get_weather:2",
    ]);
    expect(replies.every((r) => typeof r["reasoning"] === "string")).toBe(true);

    // Both sessions hold the same conversation, each stored once.
    const a = await getSession(alice, "resend-all");
    const b = await getSession(alice, "only-new");
    expect(a.body["message_count"]).toBe(2 + 5 * 2 - 1);
    expect(b.body["messages"]).toEqual(a.body["messages"]);
    expect((b.body["usage"] as Msg)["requests"]).toBe(5);
  });

  it("streamed turns store the reply assembled from deltas: tool calls with ids, reasoning, content", async () => {
    // The simulator streams exactly what it would answer non-streamed. Baseline: a
    // non-streaming client re-sending its history, each reply echoed as {role, content,
    // reasoning, tool_calls}. The streamed session must store those same messages and so
    // give the engine the same prompts.
    const baseStart = fx.recorder.chats.length;
    let turn: Msg[] = [{ role: "user", content: "Weather in Oslo?" }];
    const expected: Msg[] = [];
    for (let i = 1; i <= 3; i++) {
      expected.push(...turn);
      const reply = canonical(await chat(expected, auth(bob)));
      expected.push(reply);
      turn = nextTurn(reply, i);
    }
    const basePrompts = fx.recorder.chats.slice(baseStart).map((b) => b["messages"]);

    const streamStart = fx.recorder.chats.length;
    turn = [{ role: "user", content: "Weather in Oslo?" }];
    for (let i = 1; i <= 3; i++) {
      const events = await chatStream(turn, auth(bob, "streamed"));
      expect(events.length).toBeGreaterThan(3);
      const stored = (await getSession(bob, "streamed")).body["messages"] as Msg[];
      turn = nextTurn(stored.at(-1)!, i);
    }
    expect(fx.recorder.chats.slice(streamStart).map((b) => b["messages"])).toEqual(basePrompts);
    const stored = (await getSession(bob, "streamed")).body["messages"] as Msg[];
    expect(stored).toEqual(expected);
    expect(stored[1]).toMatchObject({
      role: "assistant",
      content: null,
      reasoning: expect.any(String),
      tool_calls: [{ id: "functions.get_weather:0", type: "function", function: { name: "get_weather" } }],
    });
    expect(stored[3]).toMatchObject({
      role: "assistant",
      content: expect.any(String),
      reasoning: expect.any(String),
    });
  });
});

describe("forks, failures, limits and ownership", () => {
  const user = (content: string): Msg => ({ role: "user", content });

  it("a diverging history forks: the session follows what the client sent", async () => {
    const h = auth(alice, "fork-me");
    const r1 = await chat([user("one")], h, { tool_choice: "none" });
    const r2 = await chat([user("one"), r1, user("two")], h, { tool_choice: "none" });
    expect((await getSession(alice, "fork-me")).body["message_count"]).toBe(4);
    // The user edits their second question: same first turn, different second.
    const start = fx.recorder.chats.length;
    const r2b = await chat([user("one"), r1, user("two, edited")], h, { tool_choice: "none" });
    expect(fx.recorder.chats[start]!["messages"]).toEqual(
      [user("one"), { ...r1, reasoning_content: undefined }, user("two, edited")].map(clean),
    );
    const after = (await getSession(alice, "fork-me")).body["messages"] as Msg[];
    expect(after.map((m) => m["content"])).toEqual(["one", r1["content"], "two, edited", r2b["content"]]);
    expect(after.map((m) => m["content"])).not.toContain(r2["content"]);
    // Regenerating the first answer (history truncated to the first question) forks too.
    await chat([user("one")], h, { tool_choice: "none" });
    expect((await getSession(alice, "fork-me")).body["message_count"]).toBe(2);
  });

  it("refuses a malformed X-Session-Id with 400 before any backend call", async () => {
    const start = fx.recorder.chats.length;
    for (const bad of ["x".repeat(129), "has space", "semi;colon", "slash/es", 'quo"te']) {
      const res = await post(
        `${fx.url}/v1/chat/completions`,
        { model: "kimi-k2.5", messages: [user("hi")] },
        { ...auth(alice), "x-session-id": bad },
      );
      const body = (await res.json()) as { error: Msg };
      expect(res.status, bad).toBe(400);
      expect(body.error).toMatchObject({
        code: "invalid_session_id",
        param: "X-Session-Id",
        type: "invalid_request_error",
      });
    }
    expect(fx.recorder.chats.length).toBe(start);
    // The longest and the widest valid ids work.
    await chat([user("hi")], auth(alice, "A".repeat(128)), { tool_choice: "none" });
    await chat([user("hi")], auth(alice, "agent-7.run_2:step-3"), { tool_choice: "none" });
  });

  it("refuses n > 1 on a session (one answer per turn) with 400", async () => {
    const res = await post(
      `${fx.url}/v1/chat/completions`,
      { model: "kimi-k2.5", n: 2, temperature: 1, messages: [user("two answers?")] },
      auth(alice, "one-answer"),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: Msg }).error).toMatchObject({
      code: "session_n_unsupported",
      param: "n",
    });
  });

  it("another key's session is 404 on every route, and its X-Session-Id starts a separate session", async () => {
    await chat([user("alice's secret plan")], auth(alice, "private"), { tool_choice: "none" });
    expect((await getSession(bob, "private")).status).toBe(404);
    expect((await getSession(bob, "private")).body).toMatchObject({ error: { code: "session_not_found" } });
    const del = await fetch(`${fx.url}/v1/sessions/private`, { method: "DELETE", headers: auth(bob) });
    expect(del.status).toBe(404);
    const start = fx.recorder.chats.length;
    await chat([user("bob here")], auth(bob, "private"), { tool_choice: "none" });
    expect(fx.recorder.chats[start]!["messages"]).toEqual([user("bob here")]);
    expect(((await getSession(alice, "private")).body["messages"] as Msg[])[0]).toEqual(
      user("alice's secret plan"),
    );
  });

  it("stores nothing for a failed or aborted turn, and the session stays usable", async () => {
    const h = auth(alice, "flaky");
    await chat([user("first")], h, { tool_choice: "none" });
    await setSimFaults([{ mode: "http_500", count: 1 }]);
    const failed = await post(
      `${fx.url}/v1/chat/completions`,
      { model: "kimi-k2.5", messages: [user("lost")] },
      h,
    );
    expect(failed.status).toBe(502);
    await failed.text();
    await setSimFaults([{ mode: "error_mid_stream", count: 1, afterChunks: 3 }]);
    const broken = await post(
      `${fx.url}/v1/chat/completions`,
      { model: "kimi-k2.5", messages: [user("broken stream")], stream: true },
      h,
    );
    await broken.text();
    // A client that goes away mid-stream.
    await setSimFaults([{ mode: "slow_tokens", ms: 50, count: 1 }]);
    const abort = new AbortController();
    const aborted = await fetch(`${fx.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...h, "content-type": "application/json" },
      body: JSON.stringify({ model: "kimi-k2.5", messages: [user("aborted")], stream: true }),
      signal: abort.signal,
    });
    const reader = aborted.body!.getReader();
    await reader.read();
    abort.abort();
    await setSimFaults([]);
    // The lock is released once the gateway has seen the abort; the next turn goes through.
    let session: Msg = {};
    for (let i = 0; i < 50; i++) {
      const res = await post(
        `${fx.url}/v1/chat/completions`,
        { model: "kimi-k2.5", messages: [user("second")], tool_choice: "none" },
        h,
      );
      session = (await res.json()) as Msg;
      if (res.status === 200) break;
      expect(res.status).toBe(409);
      await new Promise((r) => setTimeout(r, 20));
    }
    const stored = (await getSession(alice, "flaky")).body;
    expect((stored["messages"] as Msg[]).map((m) => m["content"])).toEqual([
      "first",
      ((await getSession(alice, "flaky")).body["messages"] as Msg[])[1]!["content"],
      "second",
      ((session["choices"] as Msg[])[0]!["message"] as Msg)["content"],
    ]);
    expect((stored["usage"] as Msg)["requests"]).toBe(2);
  });

  it("per-tier caps: a turn over the message or byte cap is a 400 naming the cap, before any backend call", async () => {
    const carol = await fx.newKey("tiny");
    const h = auth(carol, "capped");
    const r1 = await chat([user("one")], h, { tool_choice: "none" });
    const start = fx.recorder.chats.length;
    // 2 stored + 2 new + the reply = 5 > 4.
    const over = await post(
      `${fx.url}/v1/chat/completions`,
      {
        model: "kimi-k2.5",
        messages: [user("one"), r1, user("two"), { role: "assistant", content: "x" }, user("three")],
      },
      h,
    );
    expect(over.status).toBe(400);
    const overBody = (await over.json()) as { error: Msg };
    expect(overBody.error).toMatchObject({ code: "session_message_limit", param: "messages" });
    expect(overBody.error["message"]).toContain("tiers.tiny.sessionMaxMessages");
    expect(overBody.error["message"]).toContain("cap of 4 messages");
    const big = await post(
      `${fx.url}/v1/chat/completions`,
      { model: "kimi-k2.5", messages: [user("x".repeat(1_000))] },
      auth(carol, "big"),
    );
    expect(big.status).toBe(400);
    const bigBody = (await big.json()) as { error: Msg };
    expect(bigBody.error).toMatchObject({ code: "session_size_limit", param: "messages" });
    expect(bigBody.error["message"]).toContain("tiers.tiny.sessionMaxBytes");
    expect(fx.recorder.chats.length).toBe(start);
    // Within the caps the session carries on (the refused turns left it as it was).
    await chat([user("two")], h, { tool_choice: "none" });
    expect((await getSession(carol, "capped")).body["message_count"]).toBe(4);
  });

  it("a turn that cannot be stored (session deleted meanwhile) ends in that error, not [DONE]", async () => {
    const h = auth(alice, "deleted-midway");
    await setSimFaults([{ mode: "slow_tokens", ms: 30, count: 1 }]);
    const res = await post(
      `${fx.url}/v1/chat/completions`,
      { model: "kimi-k2.5", stream: true, messages: [user("long answer please")], tool_choice: "none" },
      h,
    );
    expect(res.status).toBe(200);
    const del = await fetch(`${fx.url}/v1/sessions/deleted-midway`, {
      method: "DELETE",
      headers: auth(alice),
    });
    expect(del.status).toBe(200);
    const data = await readSse(res);
    expect(data).not.toContain("[DONE]");
    expect(JSON.parse(data.at(-1)!)).toMatchObject({ error: { code: "session_changed" } });
    expect((await getSession(alice, "deleted-midway")).status).toBe(404);
  });

  it("meters usage per session: totals in the session, session id on the usage rows", async () => {
    const h = auth(bob, "metered");
    const a = await post(
      `${fx.url}/v1/chat/completions`,
      { model: "kimi-k2.5", messages: [user("count me")], tool_choice: "none" },
      h,
    );
    const usageA = ((await a.json()) as { usage: Msg }).usage;
    const b = await post(
      `${fx.url}/v1/chat/completions`,
      { model: "kimi-k2.5", messages: [user("and me")], tool_choice: "none" },
      h,
    );
    const usageB = ((await b.json()) as { usage: Msg }).usage;
    const { body } = await getSession(bob, "metered");
    expect(body["usage"]).toEqual({
      requests: 2,
      prompt_tokens: Number(usageA["prompt_tokens"]) + Number(usageB["prompt_tokens"]),
      completion_tokens: Number(usageA["completion_tokens"]) + Number(usageB["completion_tokens"]),
      reasoning_tokens: 0,
      cached_tokens: 0,
    });
    const rows = await fx.services.store.usage.summary({
      groupBy: ["session"],
      sessionId: "metered",
      keyId: bob.id,
    });
    expect(rows).toEqual([expect.objectContaining({ sessionId: "metered", requests: 2, errors: 0 })]);
  });
});

function clean(m: Msg): Msg {
  return JSON.parse(JSON.stringify(m)) as Msg;
}

async function setSimFaults(faults: unknown[]): Promise<void> {
  const res = await fetch(`${fx.sim.url}/sim/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(faults),
  });
  expect(res.status).toBe(200);
  await res.text();
}
