/**
 * Sliding TTL and the sweeper (AGNT-06) through the gateway, with a 2 s TTL: activity keeps
 * a session alive, an idle one expires (404, then swept from the database in batches of
 * one), and its id afterwards starts a new, empty session.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post } from "../test/fixtures.ts";
import { type SessionFixture, startSessionFixture } from "./testing.ts";

type Json = Record<string, unknown>;

let fx: SessionFixture;
let key: { id: string; secret: string };

beforeAll(async () => {
  fx = await startSessionFixture({
    preset: "qwen3-32b",
    config: (c) => ({
      ...c,
      tiers: {
        brief: {
          requestsPerMinute: 10_000,
          tokensPerMinute: 100_000_000,
          concurrentRequests: 100,
          sessionTtlSeconds: 2,
        },
      },
      sessions: { sweepIntervalMs: 200, sweepBatchSize: 1 },
    }),
  });
  key = await fx.newKey("brief");
}, 30_000);
afterAll(async () => {
  await fx?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function say(session: string, content: string) {
  const res = await post(
    `${fx.url}/v1/chat/completions`,
    { model: "qwen3-32b", max_tokens: 8, messages: [{ role: "user", content }] },
    { authorization: `Bearer ${key.secret}`, "x-session-id": session },
  );
  expect(res.status).toBe(200);
  await res.text();
}

async function get(session: string) {
  const res = await fetch(`${fx.url}/v1/sessions/${session}`, {
    headers: { authorization: `Bearer ${key.secret}` },
  });
  return { status: res.status, json: (await res.json()) as Json };
}

function rowsInDatabase(): { sessions: number; messages: number } {
  const db = new Database(`${fx.dataDir}/gateway.sqlite`, { readonly: true });
  try {
    const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      sessions: one("SELECT count(*) AS n FROM sessions"),
      messages: one("SELECT count(*) AS n FROM session_messages"),
    };
  } finally {
    db.close();
  }
}

describe("session TTL", () => {
  it("slides with activity, expires when idle, is swept in batches, and its id then starts over", async () => {
    await say("kept-alive", "turn 1");
    const first = await get("kept-alive");
    expect((first.json["expires_at"] as number) - (first.json["last_active_at"] as number)).toBe(2);
    for (const extra of ["idle-a", "idle-b", "idle-c"]) await say(extra, "soon forgotten");
    // Two more turns 1.2 s apart: 2.4 s after the first, the session is still there.
    await sleep(1_200);
    await say("kept-alive", "turn 2");
    await sleep(1_200);
    expect((await get("kept-alive")).status).toBe(200);
    expect((await get("idle-a")).status).toBe(404);

    // Idle for longer than the TTL: gone for the API at once, and from the database once swept
    // (batches of one: the sweeper loops until nothing expired is left).
    await sleep(2_100);
    const expired = await get("kept-alive");
    expect(expired.status).toBe(404);
    expect(expired.json).toMatchObject({ error: { code: "session_not_found" } });
    const deadline = Date.now() + 3_000;
    while (rowsInDatabase().sessions > 0 && Date.now() < deadline) await sleep(100);
    expect(rowsInDatabase()).toEqual({ sessions: 0, messages: 0 });

    // The same id now behaves as a new session: the engine gets no old history.
    const start = fx.recorder.chats.length;
    await say("kept-alive", "hello again");
    expect(fx.recorder.chats[start]!["messages"]).toEqual([{ role: "user", content: "hello again" }]);
    const fresh = await get("kept-alive");
    expect(fresh.json).toMatchObject({ message_count: 2, usage: { requests: 1 } });
  });
});
