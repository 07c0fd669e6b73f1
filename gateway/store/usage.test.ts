import { describe, expect, it } from "vitest";
import { openStore } from "./index.ts";
import { openSqlite } from "./sqlite/database.ts";
import { sqliteMigrations } from "./sqlite/migrations.ts";
import { tempDataDir, usageRow } from "./testing.ts";
import { percentile, periodBucket } from "./usage.ts";

// The ledger's behaviour on both dialects: usage.contract.test.ts. Here: SQLite upgrades and helpers.
describe("usage ledger (SQLite)", () => {
  it("migrates a database from before client_request_id, keeping its rows", async () => {
    const old = tempDataDir();
    const { db } = openSqlite({ dataDir: old.dir, migrations: sqliteMigrations.slice(0, 2) });
    db.prepare(
      `INSERT INTO usage_rows (request_id, ts, model_requested, endpoint, prompt_tokens, completion_tokens,
         reasoning_tokens, cached_tokens, latency_ms, status, streamed, client_aborted)
       VALUES ('old', 1, 'kimi-k2.5', 'chat.completions', 3, 4, 0, 0, 5, 200, 0, 0)`,
    ).run();
    db.close();
    const store = await openStore({ dataDir: old.dir });
    // 3 and every later migration (memory's 5, …).
    expect(store.migrationsApplied).toEqual(sqliteMigrations.slice(2).map((m) => m.version));
    await store.usage.record(usageRow({ requestId: "new", clientRequestId: "client-1" }));
    expect(await store.usage.count()).toBe(2);
    const { db: check } = openSqlite({ dataDir: old.dir });
    expect(check.prepare("SELECT request_id, client_request_id FROM usage_rows ORDER BY id").all()).toEqual([
      { request_id: "old", client_request_id: null },
      { request_id: "new", client_request_id: "client-1" },
    ]);
    check.close();
    await store.close();
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
