/**
 * How turns on a session behave: forks, malformed ids, ownership, failed and aborted
 * turns, a turn that cannot be stored, per-tier caps and per-session metering. Real HTTP,
 * the real SQLite store, a simulator subprocess behind a recording proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, readSse } from "../test/fixtures.ts";
import { auth, type Msg, sessionClient, TEST_TIERS, user } from "./testClient.ts";
import { type SessionFixture, startSessionFixture } from "./testing.ts";

let fx: SessionFixture;
let alice: { id: string; secret: string };
let bob: { id: string; secret: string };
let client: ReturnType<typeof sessionClient>;

beforeAll(async () => {
  fx = await startSessionFixture({ config: (c) => ({ ...c, tiers: TEST_TIERS }) });
  alice = await fx.newKey();
  bob = await fx.newKey();
  client = sessionClient(fx);
}, 30_000);
afterAll(async () => {
  await fx?.close();
});

const chat = (...a: Parameters<ReturnType<typeof sessionClient>["chat"]>) => client.chat(...a);
const getSession = (key: { secret: string }, id: string) => client.getSession(key, id);
const setSimFaults = (faults: unknown[]) => client.setSimFaults(faults);

describe("forks, failures, limits and ownership", () => {
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
