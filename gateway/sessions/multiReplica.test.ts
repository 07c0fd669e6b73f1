/**
 * Sessions across two gateway processes on one Postgres (as two pods): a conversation moves
 * between replicas intact, and concurrent turns on one session are never interleaved: while
 * one runs, the other replica answers 409 `session_busy`.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../harness/postgresServer.ts";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { post, setFaults } from "../test/fixtures.ts";
import { type ProcessFixture, startProcessFixture } from "../test/processFixture.ts";

type Msg = Record<string, unknown>;

let postgres: PostgresServer;
let fx: ProcessFixture;
let a: SpawnedGateway;
let b: SpawnedGateway;
let secret: string;

beforeAll(async () => {
  postgres = await startPostgresServer();
  const databaseUrl = await postgres.createDatabase("sessions");
  // 20 ms per token: turns take a fraction of a second and overlap in the burst below.
  fx = await startProcessFixture({ preset: "qwen3-32b", simArgs: ["--tpot-ms", "20"] });
  const replica = (name: string) =>
    fx.startGateway({ GONKA_DATA_DIR: join(fx.dir, `data-${name}`), GONKA_DATABASE_URL: databaseUrl });
  [a, b] = await Promise.all([replica("a"), replica("b")]);
  ({ secret } = await fx.createKey(a, { name: "agent", tier: "standard" }));
}, 60_000);

afterAll(async () => {
  await fx?.close();
  await postgres?.stop();
});

const headers = (session: string) => ({ authorization: `Bearer ${secret}`, "x-session-id": session });

async function turn(gw: SpawnedGateway, session: string, content: string, stream = false) {
  const res = await post(
    `${gw.url}/v1/chat/completions`,
    {
      model: "qwen3-32b",
      stream,
      max_tokens: 12,
      chat_template_kwargs: { enable_thinking: false },
      messages: [{ role: "user", content }],
    },
    headers(session),
  );
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Msg };
}

async function messages(gw: SpawnedGateway, session: string): Promise<Msg[]> {
  const res = await fetch(`${gw.url}/v1/sessions/${session}`, { headers: headers(session) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: Msg[] }).messages;
}

describe("sessions on two gateway replicas sharing Postgres", () => {
  it("a conversation continues on the other replica with its whole history", async () => {
    expect((await turn(a, "roaming", "first on A")).status).toBe(200);
    expect((await turn(b, "roaming", "then on B", true)).status).toBe(200);
    expect((await turn(a, "roaming", "back on A")).status).toBe(200);
    const stored = await messages(b, "roaming");
    expect(stored.map((m) => m["role"])).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
      "assistant",
    ]);
    expect(stored.filter((m) => m["role"] === "user").map((m) => m["content"])).toEqual([
      "first on A",
      "then on B",
      "back on A",
    ]);
  });

  it("a turn started while another runs on the other replica gets 409 session_busy, and nothing interleaves", async () => {
    // A streams a slow answer (40 ms more per token: seconds); once its headers arrive, A holds the session.
    await setFaults(fx.sims[0]!, [{ mode: "slow_tokens", ms: 40, count: 1 }]);
    const slow = await post(
      `${a.url}/v1/chat/completions`,
      {
        model: "qwen3-32b",
        stream: true,
        messages: [{ role: "user", content: "slow one on A" }],
      },
      headers("contended"),
    );
    expect(slow.status).toBe(200);
    const rival = await turn(b, "contended", "rival on B");
    expect(rival.status).toBe(409);
    expect(rival.headers.get("retry-after")).toBe("1");
    expect(rival.json()).toMatchObject({
      error: { code: "session_busy", type: "invalid_request_error" },
    });
    expect((rival.json()["error"] as Msg)["message"]).toMatch(/still running/);
    expect(await slow.text()).toContain("[DONE]");
    // Once A's turn is stored, B's next turn goes through and sees it.
    expect((await turn(b, "contended", "after on B")).status).toBe(200);
    const stored = await messages(a, "contended");
    expect(stored.filter((m) => m["role"] === "user").map((m) => m["content"])).toEqual([
      "slow one on A",
      "after on B",
    ]);
  });

  it("a burst of concurrent turns from both replicas: each success stored whole, in order, once", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => turn(i % 2 ? a : b, "burst", `turn ${i}`, i % 3 === 0)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    const stored = await messages(b, "burst");
    expect(stored).toHaveLength(ok * 2);
    // user, assistant, user, assistant…: never two users in a row, never a lost reply.
    expect(stored.map((m) => m["role"])).toEqual(stored.map((_, i) => (i % 2 === 0 ? "user" : "assistant")));
    const sent = new Set(results.map((_, i) => `turn ${i}`));
    for (const m of stored.filter((x) => x["role"] === "user"))
      expect(sent.has(m["content"] as string)).toBe(true);
  });
});
