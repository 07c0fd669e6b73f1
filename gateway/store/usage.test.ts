import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidInput } from "./errors.ts";
import { openStore, type Store } from "./index.ts";
import { openSqlite } from "./sqlite/database.ts";
import { sqliteMigrations } from "./sqlite/migrations.ts";
import { tempDataDir, usageRow } from "./testing.ts";
import { percentile, periodBucket } from "./usage.ts";

let data: ReturnType<typeof tempDataDir>;
let store: Store;

beforeEach(() => {
  data = tempDataDir();
  store = openStore({ dataDir: data.dir });
});

afterEach(() => {
  store.close();
  data.remove();
});

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 31, 13, 0);

describe("usage ledger", () => {
  it("records one row per request id and ignores a duplicate", () => {
    const row = usageRow({ requestId: "req_1" });
    store.usage.record(row);
    store.usage.record({ ...row, promptTokens: 999 });
    expect(store.usage.count()).toBe(1);
    expect(store.usage.summary({ groupBy: [] })[0]?.promptTokens).toBe(row.promptTokens);
  });

  it("totals tokens, errors and aborts per key and model", () => {
    store.usage.record(usageRow({ keyId: "a", modelServed: "kimi", promptTokens: 10, completionTokens: 5 }));
    store.usage.record(usageRow({ keyId: "a", modelServed: "kimi", promptTokens: 20, cachedTokens: 7 }));
    store.usage.record(
      usageRow({ keyId: "a", modelServed: "qwen", status: 429, errorCode: "rate_limit_exceeded" }),
    );
    store.usage.record(usageRow({ keyId: "b", modelRequested: "auto", modelServed: null, status: 502 }));
    store.usage.record(usageRow({ keyId: "b", modelServed: "kimi", clientAborted: true }));
    const rows = store.usage.summary({ groupBy: ["key", "model"] });
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

  it("groups by UTC hour, day and month", () => {
    const day = (d: number, h: number) => Date.UTC(2025, 0, d, h, 30);
    for (const ts of [day(31, 13), day(31, 13), day(31, 23), Date.UTC(2025, 1, 1, 0, 5)]) {
      store.usage.record(usageRow({ ts }));
    }
    const by = (period: "hour" | "day" | "month") =>
      store.usage.summary({ groupBy: ["period"], period }).map((r) => [r.period, r.requests]);
    expect(by("hour")).toEqual([
      ["2025-01-31T13:00Z", 2],
      ["2025-01-31T23:00Z", 1],
      ["2025-02-01T00:00Z", 1],
    ]);
    expect(by("day")).toEqual([
      ["2025-01-31", 3],
      ["2025-02-01", 1],
    ]);
    expect(by("month")).toEqual([
      ["2025-01", 3],
      ["2025-02", 1],
    ]);
  });

  it("filters by time range, key, model and session", () => {
    store.usage.record(usageRow({ ts: T0, keyId: "a", sessionId: "s1" }));
    store.usage.record(usageRow({ ts: T0 + HOUR, keyId: "a", sessionId: "s2", modelServed: "qwen" }));
    store.usage.record(usageRow({ ts: T0 + 2 * HOUR, keyId: "b", sessionId: "s1" }));
    store.usage.record(usageRow({ ts: T0, keyId: "b", modelRequested: "llama", modelServed: null }));
    const total = (q: Parameters<Store["usage"]["summary"]>[0]) =>
      store.usage.summary(q).reduce((n, r) => n + r.requests, 0);
    expect(total({ groupBy: [], from: T0 + HOUR })).toBe(2);
    expect(total({ groupBy: [], from: T0, to: T0 + HOUR })).toBe(2);
    expect(total({ groupBy: [], keyId: "a" })).toBe(2);
    expect(total({ groupBy: [], model: "qwen" })).toBe(1);
    expect(total({ groupBy: [], model: "llama" })).toBe(1);
    expect(total({ groupBy: [], sessionId: "s1", keyId: "b" })).toBe(1);
    expect(store.usage.summary({ groupBy: ["session"], keyId: "a" }).map((r) => r.sessionId)).toEqual([
      "s1",
      "s2",
    ]);
  });

  it("computes nearest-rank latency and TTFT percentiles per group", () => {
    for (let i = 1; i <= 100; i++) {
      store.usage.record(usageRow({ keyId: "a", latencyMs: i * 10, ttftMs: i % 2 === 0 ? i : null }));
    }
    store.usage.record(usageRow({ keyId: "b", latencyMs: 7, ttftMs: null }));
    const [a, b] = store.usage.summary({ groupBy: ["key"] });
    expect(a?.latencyMs).toEqual({ p50: 500, p95: 950, p99: 990 });
    // TTFT only over the 50 requests that had one: 2, 4, ..., 100.
    expect(a?.ttftMs).toEqual({ p50: 50, p95: 96, p99: 100 });
    expect(b?.latencyMs).toEqual({ p50: 7, p95: 7, p99: 7 });
    expect(b?.ttftMs).toEqual({ p50: null, p95: null, p99: null });
  });

  it("rejects a period grouping without a period, as a 400", () => {
    expect(() => store.usage.summary({ groupBy: ["period"] })).toThrow(InvalidInput);
    expect(() => store.usage.summary({ groupBy: ["period"] })).toThrow(/period/);
  });

  it("migrates a database from before client_request_id, keeping its rows", () => {
    store.close();
    const old = tempDataDir();
    const { db } = openSqlite({ dataDir: old.dir, migrations: sqliteMigrations.slice(0, 2) });
    db.prepare(
      `INSERT INTO usage_rows (request_id, ts, model_requested, endpoint, prompt_tokens, completion_tokens,
         reasoning_tokens, cached_tokens, latency_ms, status, streamed, client_aborted)
       VALUES ('old', 1, 'kimi-k2.5', 'chat.completions', 3, 4, 0, 0, 5, 200, 0, 0)`,
    ).run();
    db.close();
    store = openStore({ dataDir: old.dir });
    store.usage.record(usageRow({ requestId: "new", clientRequestId: "client-1" }));
    expect(store.usage.count()).toBe(2);
    const { db: check } = openSqlite({ dataDir: old.dir });
    expect(check.prepare("SELECT request_id, client_request_id FROM usage_rows ORDER BY id").all()).toEqual([
      { request_id: "old", client_request_id: null },
      { request_id: "new", client_request_id: "client-1" },
    ]);
    check.close();
    old.remove();
  });
});

describe("usage helpers", () => {
  it("nearest-rank percentile", () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 51)).toBe(3);
    expect(percentile([1, 2, 3, 4], 100)).toBe(4);
  });

  it("period buckets are UTC", () => {
    expect(periodBucket(Date.UTC(2024, 11, 31, 23, 59), "hour")).toBe("2024-12-31T23:00Z");
    expect(periodBucket(Date.UTC(2024, 11, 31, 23, 59), "month")).toBe("2024-12");
  });
});
