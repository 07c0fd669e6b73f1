import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../store/index.ts";
import { openSqlite } from "../store/sqlite/database.ts";
import { tempDataDir, usageRow } from "../store/testing.ts";
import { until } from "../test/poll.ts";
import { JOURNAL_FOLDER, LEGACY_JOURNAL } from "./journalFiles.ts";
import { UsageJournal } from "./usageJournal.ts";

const dirs: { remove(): void }[] = [];
function tempDir(): string {
  const d = tempDataDir();
  dirs.push(d);
  return d.dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function ledgerIds(dir: string): Set<string> {
  const db = new Database(join(dir, "gateway.sqlite"), { readonly: true });
  const ids = db.prepare("SELECT request_id FROM usage_rows").pluck().all() as string[];
  db.close();
  return new Set(ids);
}

/** A journaling child; resolves with every id it acknowledged, once it is killed and its stdout closed. */
function journalChild(dir: string, maxPending: number) {
  const child: ChildProcess = spawn(
    process.execPath,
    [fileURLToPath(new URL("./journalChild.ts", import.meta.url)), dir, String(maxPending)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const acknowledged: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (id) => acknowledged.push(id));
  // `close`, not `exit`: ids still in the pipe when the child died are read before close.
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  return { child, acknowledged, closed };
}

describe("usage journal", () => {
  it("appends rows to this process's journal at once and imports them in batches", () => {
    const dir = tempDir();
    const store = openStore({ dataDir: dir });
    const journal = new UsageJournal(store.usage, { dataDir: dir, flushIntervalMs: 60_000, maxPending: 3 });
    journal.record(usageRow({ requestId: "a" }));
    journal.record(usageRow({ requestId: "b" }));
    expect(store.usage.count()).toBe(0);
    expect(readFileSync(journal.path, "utf8").trim().split("\n")).toHaveLength(2);
    journal.record(usageRow({ requestId: "c" }));
    expect(store.usage.count()).toBe(3);
    expect(statSync(journal.path).size).toBe(0);
    journal.record(usageRow({ requestId: "d" }));
    expect(journal.summary({ groupBy: ["key"] })[0]!.requests).toBe(4);
    const path = journal.path;
    journal.close();
    // A clean stop leaves no journal behind.
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(join(dir, JOURNAL_FOLDER))).toEqual([]);
    store.close();
  });

  it("never replays (nor truncates) the journal of a process that is alive", () => {
    const dir = tempDir();
    const store = openStore({ dataDir: dir });
    const first = new UsageJournal(store.usage, { dataDir: dir, flushIntervalMs: 60_000 });
    first.record(usageRow({ requestId: "only-in-first" }));
    const second = new UsageJournal(store.usage, { dataDir: dir, flushIntervalMs: 60_000, maxPending: 1 });
    second.record(usageRow({ requestId: "second" }));
    expect(second.replayDead()).toBe(0);
    expect([...ledgerIds(dir)]).toEqual(["second"]);
    expect(readFileSync(first.path, "utf8")).toContain("only-in-first");
    first.close();
    second.close();
    expect(ledgerIds(dir)).toEqual(new Set(["second", "only-in-first"]));
    store.close();
  });

  it("loses no acknowledged row when two processes share the folder and both are SIGKILLed", async () => {
    const dir = tempDir();
    // One imports (and truncates its journal) every 7 rows, the other never before the kill:
    // a shared journal would let the first truncate rows only the second had written.
    const a = journalChild(dir, 7);
    const b = journalChild(dir, 1_000_000);
    await until(() => a.acknowledged.length >= 400 && b.acknowledged.length >= 400);
    a.child.kill("SIGKILL");
    b.child.kill("SIGKILL");
    await Promise.all([a.closed, b.closed]);

    const store = openStore({ dataDir: dir });
    const before = ledgerIds(dir);
    expect(b.acknowledged.some((id) => !before.has(id))).toBe(true); // some were only journaled
    const journal = new UsageJournal(store.usage, { dataDir: dir });
    const ids = ledgerIds(dir);
    const acknowledged = [...a.acknowledged, ...b.acknowledged];
    expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
    // Beyond the acknowledged ones, only rows a child journaled after its last acknowledged
    // one (it died before printing them): ids are `req_<pid>_<n>`, n counting up.
    const seq = (id: string) => Number(id.split("_")[2]);
    const lastAcked = new Map(
      [a, b].map((c) => [String(c.child.pid), Math.max(...c.acknowledged.map(seq))] as const),
    );
    const acked = new Set(acknowledged);
    for (const id of [...ids].filter((i) => !acked.has(i))) {
      expect(seq(id), id).toBeGreaterThan(lastAcked.get(id.split("_")[1]!)!);
    }
    // The dead processes' journals are gone once replayed; only ours remains.
    expect(readdirSync(join(dir, JOURNAL_FOLDER)).filter((f) => f.endsWith(".journal"))).toHaveLength(1);

    // Replaying the same rows again (a crash between import and delete) changes nothing.
    for (const id of acknowledged.slice(0, 50)) journal.record(usageRow({ requestId: id }));
    expect(journal.count()).toBe(ids.size);
    journal.close();
    store.close();
  });

  it("metering.fsync=row: SQLite commits with synchronous=FULL and rows are journaled and imported", () => {
    const dir = tempDir();
    const store = openStore({ dataDir: dir, synchronous: "FULL" });
    const { db } = openSqlite({ dataDir: dir, synchronous: "FULL" });
    expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL
    db.close();
    const journal = new UsageJournal(store.usage, { dataDir: dir, fsync: true, maxPending: 2 });
    journal.record(usageRow({ requestId: "synced-1" }));
    expect(readFileSync(journal.path, "utf8")).toContain("synced-1");
    journal.record(usageRow({ requestId: "synced-2" }));
    expect(ledgerIds(dir)).toEqual(new Set(["synced-1", "synced-2"]));
    journal.close();
    store.close();
  });

  it("imports the shared journal an older version left behind", () => {
    const dir = tempDir();
    const store = openStore({ dataDir: dir });
    const { clientRequestId: _, ...old } = usageRow({ requestId: "from-old-version" });
    writeFileSync(join(dir, LEGACY_JOURNAL), `${JSON.stringify(old)}\n{"torn":`);
    const journal = new UsageJournal(store.usage, { dataDir: dir });
    expect([...ledgerIds(dir)]).toEqual(["from-old-version"]);
    expect(existsSync(join(dir, LEGACY_JOURNAL))).toBe(false);
    journal.close();
    store.close();
  });
});
