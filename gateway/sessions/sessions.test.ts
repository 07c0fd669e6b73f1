/**
 * Sessions end to end (issue 12's acceptance): real HTTP, the real SQLite store, a real
 * simulator subprocess whose received requests a recording proxy keeps. Forks, failures,
 * caps and ownership: turnRules.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, canonical, type Msg, nextTurn, sessionClient, TEST_TIERS } from "./testClient.ts";
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
const chatStream = (...a: Parameters<ReturnType<typeof sessionClient>["chatStream"]>) =>
  client.chatStream(...a);
const getSession = (key: { secret: string }, id: string) => client.getSession(key, id);

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
