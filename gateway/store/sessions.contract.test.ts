/**
 * The sessions repository's contract, run against SQLite and a real Postgres: ownership,
 * ordered messages, turns under a lock, forks, usage totals, sliding expiry, pagination
 * and the batched sweeper.
 */
import { describe, expect, it } from "vitest";
import { toGatewayError } from "../errors.ts";
import { dialects, storePerTest } from "./contract.ts";
import { Conflict } from "./errors.ts";

const HOUR = 3_600_000;
const lease = (token: string, ms = 30_000) => ({ token, ms });
const usage = { promptTokens: 10, completionTokens: 5, reasoningTokens: 2, cachedTokens: 1 };

/** A K2.5 assistant turn with reasoning and a tool call, as the engine answers it. */
const toolTurn = {
  role: "assistant",
  content: null,
  reasoning: "The user wants the weather; call the tool.",
  tool_calls: [
    {
      id: "functions.get_weather:0",
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Paris"}' },
    },
  ],
};

describe.each(dialects)("sessions contract: $name", (dialect) => {
  const t = storePerTest(dialect);

  async function turn(
    keyId: string,
    id: string,
    keep: number,
    append: Record<string, unknown>[],
    ttlMs = HOUR,
  ) {
    const token = `req_${Math.random()}`;
    const started = await t.store.sessions.begin({ keyId, id, ttlMs, lease: lease(token) });
    const saved = await t.store.sessions.commit({ keyId, id, token, keep, append, usage, ttlMs });
    return { started, saved };
  }

  it("creates a session on its first turn and stores messages in order, JSON intact", async () => {
    const user = { role: "user", content: [{ type: "text", text: "weather in Paris?" }], name: "ann" };
    const tool = { role: "tool", tool_call_id: "functions.get_weather:0", content: '{"temp":21}' };
    const { started } = await turn("key_a", "chat-1", 0, [user, toolTurn]);
    expect(started.messages).toEqual([]);
    expect(started.session).toMatchObject({ keyId: "key_a", id: "chat-1", messageCount: 0 });
    const { started: second, saved } = await turn("key_a", "chat-1", 2, [
      tool,
      { role: "assistant", content: "21 °C" },
    ]);
    expect(second.messages).toEqual([user, toolTurn]);
    expect(await t.store.sessions.messages("key_a", "chat-1")).toEqual([
      user,
      toolTurn,
      tool,
      { role: "assistant", content: "21 °C" },
    ]);
    expect(saved.messageCount).toBe(4);
    expect(saved.bytes).toBe(
      [user, toolTurn, tool, { role: "assistant", content: "21 °C" }].reduce(
        (n, m) => n + Buffer.byteLength(JSON.stringify(m)),
        0,
      ),
    );
    expect(saved.usage).toEqual({
      requests: 2,
      promptTokens: 20,
      completionTokens: 10,
      reasoningTokens: 4,
      cachedTokens: 2,
    });
  });

  it("a fork keeps the common prefix and replaces the rest", async () => {
    await turn("key_a", "s", 0, [
      { role: "user", content: "a" },
      { role: "assistant", content: "b" },
      { role: "user", content: "c" },
      { role: "assistant", content: "d" },
    ]);
    const { saved } = await turn("key_a", "s", 1, [
      { role: "assistant", content: "B" },
      { role: "user", content: "C" },
      { role: "assistant", content: "D" },
    ]);
    expect((await t.store.sessions.messages("key_a", "s")).map((m) => m["content"])).toEqual([
      "a",
      "B",
      "C",
      "D",
    ]);
    expect(saved.messageCount).toBe(4);
  });

  it("belongs to its key: another key with the same id has its own session", async () => {
    await turn("key_a", "shared", 0, [{ role: "user", content: "secret of a" }]);
    expect(await t.store.sessions.get("key_b", "shared")).toBeUndefined();
    expect(await t.store.sessions.messages("key_b", "shared")).toEqual([]);
    expect(await t.store.sessions.delete("key_b", "shared")).toBe(false);
    const { started } = await turn("key_b", "shared", 0, [{ role: "user", content: "b" }]);
    expect(started.messages).toEqual([]);
    expect(await t.store.sessions.messages("key_a", "shared")).toEqual([
      { role: "user", content: "secret of a" },
    ]);
  });

  it("one turn at a time: a second begin is refused with Conflict (409) until commit or release", async () => {
    await t.store.sessions.begin({ keyId: "k", id: "s", ttlMs: HOUR, lease: lease("one") });
    const refused = await t.store.sessions
      .begin({ keyId: "k", id: "s", ttlMs: HOUR, lease: lease("two") })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Conflict);
    expect(toGatewayError(refused).status).toBe(409);
    expect((refused as Conflict).code).toBe("session_busy");
    await t.store.sessions.release("k", "s", "one");
    await t.store.sessions.begin({ keyId: "k", id: "s", ttlMs: HOUR, lease: lease("two") });
    // The first request's lock is gone: its late commit stores nothing.
    const late = await t.store.sessions
      .commit({
        keyId: "k",
        id: "s",
        token: "one",
        keep: 0,
        append: [{ role: "user", content: "x" }],
        usage,
        ttlMs: HOUR,
      })
      .catch((e: unknown) => e);
    expect((late as Conflict).code).toBe("session_changed");
    expect(await t.store.sessions.messages("k", "s")).toEqual([]);
  });

  it("a lapsed lock (crashed gateway) can be taken over; renew extends a held one", async () => {
    await t.store.sessions.begin({ keyId: "k", id: "s", ttlMs: HOUR, lease: lease("dead", 50) });
    expect(await t.store.sessions.renew("k", "s", lease("dead", 50))).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    await t.store.sessions.begin({ keyId: "k", id: "s", ttlMs: HOUR, lease: lease("next") });
    expect(await t.store.sessions.renew("k", "s", lease("dead"))).toBe(false);
  });

  it("expiry slides with activity; an expired session is gone and starts over as new", async () => {
    const { saved } = await turn("k", "s", 0, [{ role: "user", content: "old" }], 300);
    expect(saved.expiresAt - saved.lastActiveAt).toBe(300);
    await new Promise((r) => setTimeout(r, 200));
    const { saved: again } = await turn("k", "s", 1, [{ role: "user", content: "still here" }], 300);
    expect(again.expiresAt).toBeGreaterThan(saved.expiresAt);
    await new Promise((r) => setTimeout(r, 350));
    expect(await t.store.sessions.get("k", "s")).toBeUndefined();
    expect(await t.store.sessions.messages("k", "s")).toEqual([]);
    expect((await t.store.sessions.list({ keyId: "k", limit: 10 })).data).toEqual([]);
    const { started } = await turn("k", "s", 0, [{ role: "user", content: "new" }]);
    expect(started.messages).toEqual([]);
    expect(started.session.usage.requests).toBe(0);
    expect(await t.store.sessions.messages("k", "s")).toEqual([{ role: "user", content: "new" }]);
  });

  it("creates empty sessions with metadata and lists them newest first, page by page", async () => {
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await t.store.sessions.create({ keyId: "k", metadata: { n: i }, ttlMs: HOUR }));
      await new Promise((r) => setTimeout(r, 2));
    }
    await t.store.sessions.create({ keyId: "other", ttlMs: HOUR });
    expect(made[0]!.id).toMatch(/^sess_[0-9a-f]{24}$/);
    expect(made[0]!.metadata).toEqual({ n: 0 });
    const first = await t.store.sessions.list({ keyId: "k", limit: 2 });
    expect(first.data.map((s) => s.metadata?.["n"])).toEqual([4, 3]);
    expect(first.hasMore).toBe(true);
    const last = first.data.at(-1)!;
    const second = await t.store.sessions.list({ keyId: "k", limit: 2, after: last });
    expect(second.data.map((s) => s.metadata?.["n"])).toEqual([2, 1]);
    const third = await t.store.sessions.list({ keyId: "k", limit: 2, after: second.data.at(-1)! });
    expect(third.data.map((s) => s.metadata?.["n"])).toEqual([0]);
    expect(third.hasMore).toBe(false);
    expect((await t.store.sessions.list({ limit: 100 })).data).toHaveLength(6);
  });

  it("delete removes the session and its messages", async () => {
    await turn("k", "s", 0, [{ role: "user", content: "x" }]);
    expect(await t.store.sessions.delete("k", "s")).toBe(true);
    expect(await t.store.sessions.get("k", "s")).toBeUndefined();
    expect(await t.db.sql("SELECT * FROM session_messages")).toEqual([]);
    expect(await t.store.sessions.delete("k", "s")).toBe(false);
  });

  it("sweeps expired sessions in bounded batches, leaves live and locked ones, from two stores at once", async () => {
    for (let i = 0; i < 7; i++) await turn("k", `old-${i}`, 0, [{ role: "user", content: `${i}` }], 50);
    await turn("k", "live", 0, [{ role: "user", content: "live" }], HOUR);
    await t.store.sessions.begin({ keyId: "k", id: "busy", ttlMs: 50, lease: lease("running") });
    await new Promise((r) => setTimeout(r, 80));
    const other = await t.db.open();
    try {
      const [a, b] = await Promise.all([t.store.sessions.sweep(3), other.sessions.sweep(3)]);
      expect(a).toBeLessThanOrEqual(3);
      expect(b).toBeLessThanOrEqual(3);
      let total = a + b;
      for (let n = await t.store.sessions.sweep(3); n > 0; n = await t.store.sessions.sweep(3)) total += n;
      expect(total).toBe(7);
    } finally {
      await other.close();
    }
    const left = (await t.db.sql("SELECT id FROM sessions ORDER BY id")).map((r) => r["id"]);
    expect(left).toEqual(["busy", "live"]);
    expect((await t.db.sql("SELECT session_id FROM session_messages")).map((r) => r["session_id"])).toEqual([
      "live",
    ]);
  });
});
