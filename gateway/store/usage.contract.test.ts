/**
 * The usage ledger's contract, run against every dialect (SQLite and a real Postgres):
 * one row per request id, totals, groupings, filters, percentiles, and journal replay that
 * never doubles a row.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JOURNAL_FOLDER } from "../metering/journalFiles.ts";
import { UsageJournal } from "../metering/usageJournal.ts";
import { dialects, storePerTest } from "./contract.ts";
import { InvalidInput } from "./errors.ts";
import type { Store } from "./index.ts";
import { usageRow } from "./testing.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 31, 13, 0);

describe.each(dialects)("usage ledger contract: $name", (dialect) => {
  const t = storePerTest(dialect);

  it("records one row per request id and ignores a duplicate", async () => {
    const row = usageRow({ requestId: "req_1" });
    await t.store.usage.record(row);
    await t.store.usage.record({ ...row, promptTokens: 999 });
    expect(await t.store.usage.count()).toBe(1);
    expect((await t.store.usage.summary({ groupBy: [] }))[0]?.promptTokens).toBe(row.promptTokens);
  });

  it("totals tokens, errors and aborts per key and model", async () => {
    await t.store.usage.record(
      usageRow({ keyId: "a", modelServed: "kimi", promptTokens: 10, completionTokens: 5 }),
    );
    await t.store.usage.record(
      usageRow({ keyId: "a", modelServed: "kimi", promptTokens: 20, cachedTokens: 7 }),
    );
    await t.store.usage.record(
      usageRow({ keyId: "a", modelServed: "qwen", status: 429, errorCode: "rate_limit_exceeded" }),
    );
    await t.store.usage.record(
      usageRow({ keyId: "b", modelRequested: "auto", modelServed: null, status: 502 }),
    );
    await t.store.usage.record(usageRow({ keyId: "b", modelServed: "kimi", clientAborted: true }));
    const rows = await t.store.usage.summary({ groupBy: ["key", "model"] });
    expect(rows.map((r) => [r.keyId, r.model, r.requests, r.errors, r.aborted])).toEqual([
      ["a", "kimi", 2, 0, 0],
      ["a", "qwen", 1, 1, 0],
      ["b", "auto", 1, 1, 0],
      ["b", "kimi", 1, 0, 1],
    ]);
    const first = rows[0]!;
    expect(first).toMatchObject({
      promptTokens: 30,
      completionTokens: 25,
      reasoningTokens: 10,
      cachedTokens: 7,
      totalTokens: 55,
    });
  });

  it("groups by UTC hour, day and month", async () => {
    const day = (d: number, h: number) => Date.UTC(2025, 0, d, h, 30);
    for (const ts of [day(31, 13), day(31, 13), day(31, 23), Date.UTC(2025, 1, 1, 0, 5)]) {
      await t.store.usage.record(usageRow({ ts }));
    }
    const by = async (period: "hour" | "day" | "month") =>
      (await t.store.usage.summary({ groupBy: ["period"], period })).map((r) => [r.period, r.requests]);
    expect(await by("hour")).toEqual([
      ["2025-01-31T13:00Z", 2],
      ["2025-01-31T23:00Z", 1],
      ["2025-02-01T00:00Z", 1],
    ]);
    expect(await by("day")).toEqual([
      ["2025-01-31", 3],
      ["2025-02-01", 1],
    ]);
    expect(await by("month")).toEqual([
      ["2025-01", 3],
      ["2025-02", 1],
    ]);
  });

  it("filters by time range, key, model and session", async () => {
    await t.store.usage.record(usageRow({ ts: T0, keyId: "a", sessionId: "s1" }));
    await t.store.usage.record(usageRow({ ts: T0 + HOUR, keyId: "a", sessionId: "s2", modelServed: "qwen" }));
    await t.store.usage.record(usageRow({ ts: T0 + 2 * HOUR, keyId: "b", sessionId: "s1" }));
    await t.store.usage.record(usageRow({ ts: T0, keyId: "b", modelRequested: "llama", modelServed: null }));
    const total = async (q: Parameters<Store["usage"]["summary"]>[0]) =>
      (await t.store.usage.summary(q)).reduce((n, r) => n + r.requests, 0);
    expect(await total({ groupBy: [], from: T0 + HOUR })).toBe(2);
    expect(await total({ groupBy: [], from: T0, to: T0 + HOUR })).toBe(2);
    expect(await total({ groupBy: [], keyId: "a" })).toBe(2);
    expect(await total({ groupBy: [], model: "qwen" })).toBe(1);
    expect(await total({ groupBy: [], model: "llama" })).toBe(1);
    expect(await total({ groupBy: [], sessionId: "s1", keyId: "b" })).toBe(1);
    expect(
      (await t.store.usage.summary({ groupBy: ["session"], keyId: "a" })).map((r) => r.sessionId),
    ).toEqual(["s1", "s2"]);
  });

  it("computes nearest-rank latency and TTFT percentiles per group", async () => {
    for (let i = 1; i <= 100; i++) {
      await t.store.usage.record(usageRow({ keyId: "a", latencyMs: i * 10, ttftMs: i % 2 === 0 ? i : null }));
    }
    await t.store.usage.record(usageRow({ keyId: "b", latencyMs: 7, ttftMs: null }));
    const [a, b] = await t.store.usage.summary({ groupBy: ["key"] });
    expect(a?.latencyMs).toEqual({ p50: 500, p95: 950, p99: 990 });
    // TTFT only over the 50 requests that had one: 2, 4, ..., 100.
    expect(a?.ttftMs).toEqual({ p50: 50, p95: 96, p99: 100 });
    expect(b?.latencyMs).toEqual({ p50: 7, p95: 7, p99: 7 });
    expect(b?.ttftMs).toEqual({ p50: null, p95: null, p99: null });
  });

  it("rejects a period grouping without a period, as a 400", async () => {
    await expect(t.store.usage.summary({ groupBy: ["period"] })).rejects.toThrow(InvalidInput);
    await expect(t.store.usage.summary({ groupBy: ["period"] })).rejects.toThrow(/period/);
  });

  it("keeps every column of a row as recorded", async () => {
    const row = usageRow({
      requestId: "req_cols",
      clientRequestId: "client-7",
      modelRequested: "auto",
      route: "tools",
      ttftMs: 12.5,
      latencyMs: 99.25,
    });
    await t.store.usage.recordMany([row]);
    const [stored] = await t.db.sql("SELECT * FROM usage_rows WHERE request_id = ?", ["req_cols"]);
    expect(stored).toMatchObject({
      request_id: "req_cols",
      client_request_id: "client-7",
      model_requested: "auto",
      route: "tools",
      key_id: row.keyId,
      tier: row.tier,
      replica: row.replica,
      endpoint: row.endpoint,
      prompt_tokens: row.promptTokens,
      ttft_ms: 12.5,
      latency_ms: 99.25,
      status: 200,
    });
    expect(Number(stored!["ts"])).toBe(row.ts);
    expect(Boolean(stored!["streamed"])).toBe(true);
    expect(Boolean(stored!["client_aborted"])).toBe(false);
  });

  it("filters by the name the client sent (a router alias), beside the served-model filter", async () => {
    await t.store.usage.recordMany([
      usageRow({ requestId: "r1", modelRequested: "auto", modelServed: "qwen3-32b", route: "short" }),
      usageRow({ requestId: "r2", modelRequested: "auto", modelServed: "kimi-k2.5", route: "tools" }),
      usageRow({ requestId: "r3", modelRequested: "kimi-k2.5", modelServed: "kimi-k2.5" }),
    ]);
    const byModel = await t.store.usage.summary({ groupBy: ["model"], requested: "auto" });
    expect(byModel.map((r) => [r.model, r.requests])).toEqual([
      ["kimi-k2.5", 1],
      ["qwen3-32b", 1],
    ]);
    const kimi = await t.store.usage.summary({ groupBy: [], requested: "auto", model: "kimi-k2.5" });
    expect(kimi[0]!.requests).toBe(1);
  });

  it("finds the model that last answered a key's session through an alias", async () => {
    const at = (i: number) => Date.UTC(2025, 0, 31, 13, i);
    await t.store.usage.recordMany([
      usageRow({
        requestId: "s1",
        ts: at(1),
        sessionId: "conv",
        modelRequested: "auto",
        modelServed: "qwen3-32b",
      }),
      usageRow({
        requestId: "s2",
        ts: at(2),
        sessionId: "conv",
        modelRequested: "auto",
        modelServed: "kimi-k2.5",
      }),
      // Later but failed, another alias, another key, another session: none counts.
      usageRow({
        requestId: "s3",
        ts: at(3),
        sessionId: "conv",
        modelRequested: "auto",
        modelServed: "deepseek-v3.1",
        status: 503,
      }),
      usageRow({
        requestId: "s4",
        ts: at(4),
        sessionId: "conv",
        modelRequested: "cheap",
        modelServed: "llama-4-maverick",
      }),
      usageRow({
        requestId: "s5",
        ts: at(5),
        sessionId: "conv",
        keyId: "key_b",
        modelRequested: "auto",
        modelServed: "qwen3-32b",
      }),
    ]);
    expect(await t.store.usage.lastServed("key_a", "conv", "auto")).toBe("kimi-k2.5");
    expect(await t.store.usage.lastServed("key_b", "conv", "auto")).toBe("qwen3-32b");
    expect(await t.store.usage.lastServed("key_a", "other", "auto")).toBeNull();
    expect(await t.store.usage.lastServed(null, "conv", "auto")).toBeNull();
  });

  it("recordMany skips ids already recorded, and repeats within one batch", async () => {
    const rows = [1, 2, 3].map((i) => usageRow({ requestId: `batch_${i}` }));
    await t.store.usage.recordMany(rows);
    await t.store.usage.recordMany([...rows, rows[0]!, usageRow({ requestId: "batch_4" })]);
    expect(await t.store.usage.count()).toBe(4);
  });

  it("replaying a dead process's journal twice never doubles a row (the request id is the key)", async () => {
    const rows = Array.from({ length: 20 }, (_, i) => usageRow({ requestId: `replayed_${i}` }));
    const folder = join(t.db.dataDir, JOURNAL_FOLDER);
    mkdirSync(folder, { recursive: true });
    const leave = () =>
      writeFileSync(
        join(folder, "dead-1-abcd.s0.journal"),
        rows.map((r) => `${JSON.stringify(r)}\n`).join(""),
      );
    // Half the rows were imported before the process died: a crash between commit and delete.
    await t.store.usage.recordMany(rows.slice(0, 10));
    leave();
    const first = await UsageJournal.open(t.store.usage, { dataDir: t.db.dataDir });
    expect(await first.count()).toBe(20);
    await first.close();
    leave(); // the same journal again, as if the delete had not happened
    const second = await UsageJournal.open(t.store.usage, { dataDir: t.db.dataDir });
    expect(await second.count()).toBe(20);
    await second.close();
    expect((await t.store.usage.summary({ groupBy: [] }))[0]?.requests).toBe(20);
  });
});
