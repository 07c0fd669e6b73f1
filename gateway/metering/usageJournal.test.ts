import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type UsageRow } from "../store/index.ts";
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
  it("appends rows to this process's journal at once and imports them in batches", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    const journal = await UsageJournal.open(store.usage, {
      dataDir: dir,
      flushIntervalMs: 60_000,
      maxPending: 3,
    });
    void journal.record(usageRow({ requestId: "a" }));
    void journal.record(usageRow({ requestId: "b" }));
    expect(await store.usage.count()).toBe(0);
    expect(readFileSync(journal.path, "utf8").trim().split("\n")).toHaveLength(2);
    const first = journal.path;
    void journal.record(usageRow({ requestId: "c" }));
    // The batch went to the ledger; its segment is gone once imported, new rows go to a new one.
    await until(async () => (await store.usage.count()) === 3);
    await until(() => !existsSync(first));
    expect(statSync(journal.path).size).toBe(0);
    void journal.record(usageRow({ requestId: "d" }));
    expect((await journal.summary({ groupBy: ["key"] }))[0]!.requests).toBe(4);
    await journal.close();
    // A clean stop leaves no journal behind.
    expect(readdirSync(join(dir, JOURNAL_FOLDER))).toEqual([]);
    await store.close();
  });

  it("keeps rows recorded while an import is in flight (they go to a new segment, not the imported one)", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const slow = {
      ...store.usage,
      async recordMany(rows: readonly UsageRow[]) {
        await gate; // a database round trip that takes a while
        await store.usage.recordMany(rows);
      },
    };
    const journal = await UsageJournal.open(slow, { dataDir: dir, flushIntervalMs: 60_000, maxPending: 2 });
    void journal.record(usageRow({ requestId: "r1" }));
    void journal.record(usageRow({ requestId: "r2" })); // starts an import, which waits
    void journal.record(usageRow({ requestId: "r3" }));
    expect(readFileSync(journal.path, "utf8")).toContain("r3");
    release();
    await journal.flush();
    expect(ledgerIds(dir)).toEqual(new Set(["r1", "r2", "r3"]));
    void journal.record(usageRow({ requestId: "r4" }));
    // Killed now, r4 must still be on disk for the next process.
    const files = readdirSync(join(dir, JOURNAL_FOLDER)).filter((f) => f.endsWith(".journal"));
    expect(files.map((f) => readFileSync(join(dir, JOURNAL_FOLDER, f), "utf8")).join("")).toContain("r4");
    await journal.close();
    expect(ledgerIds(dir)).toEqual(new Set(["r1", "r2", "r3", "r4"]));
    await store.close();
  });

  it("keeps rows through a database outage (on disk, no descriptor per waiting batch) and imports them after", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    let down = true;
    const flaky = {
      ...store.usage,
      async recordMany(rows: readonly UsageRow[]) {
        if (down) throw new Error("connection refused");
        await store.usage.recordMany(rows);
      },
    };
    const journal = await UsageJournal.open(flaky, { dataDir: dir, flushIntervalMs: 60_000, maxPending: 5 });
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    for (let i = 0; i < 200; i++) void journal.record(usageRow({ requestId: `outage_${i}` }));
    await journal.flush();
    expect(fds() - before).toBeLessThanOrEqual(2);
    expect(ledgerIds(dir).size).toBe(0);
    down = false;
    await journal.flush();
    expect(ledgerIds(dir).size).toBe(200);
    expect(readdirSync(join(dir, JOURNAL_FOLDER)).filter((f) => f.endsWith(".journal"))).toHaveLength(1);
    await journal.close();
    await store.close();
  });

  it("never replays (nor deletes) the journal of a process that is alive", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    const first = await UsageJournal.open(store.usage, { dataDir: dir, flushIntervalMs: 60_000 });
    void first.record(usageRow({ requestId: "only-in-first" }));
    const second = await UsageJournal.open(store.usage, {
      dataDir: dir,
      flushIntervalMs: 60_000,
      maxPending: 1,
    });
    void second.record(usageRow({ requestId: "second" }));
    expect(await second.replayDead()).toBe(0);
    await second.flush();
    expect([...ledgerIds(dir)]).toEqual(["second"]);
    expect(readFileSync(first.path, "utf8")).toContain("only-in-first");
    await first.close();
    await second.close();
    expect(ledgerIds(dir)).toEqual(new Set(["second", "only-in-first"]));
    await store.close();
  });

  it("loses no acknowledged row when two processes share the folder and both are SIGKILLed", async () => {
    const dir = tempDir();
    // One imports (and deletes its segments) every 7 rows, the other never before the kill.
    const a = journalChild(dir, 7);
    const b = journalChild(dir, 1_000_000);
    await until(() => a.acknowledged.length >= 400 && b.acknowledged.length >= 400);
    a.child.kill("SIGKILL");
    b.child.kill("SIGKILL");
    await Promise.all([a.closed, b.closed]);

    const store = await openStore({ dataDir: dir });
    const before = ledgerIds(dir);
    expect(b.acknowledged.some((id) => !before.has(id))).toBe(true); // some were only journaled
    const journal = await UsageJournal.open(store.usage, { dataDir: dir });
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
    for (const id of acknowledged.slice(0, 50)) void journal.record(usageRow({ requestId: id }));
    expect(await journal.count()).toBe(ids.size);
    await journal.close();
    await store.close();
  });

  it("metering.fsync=row: SQLite commits with synchronous=FULL and rows are journaled and imported", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir, synchronous: "FULL" });
    const { db } = openSqlite({ dataDir: dir, synchronous: "FULL" });
    expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL
    db.close();
    const journal = await UsageJournal.open(store.usage, { dataDir: dir, fsync: true, maxPending: 2 });
    void journal.record(usageRow({ requestId: "synced-1" }));
    expect(readFileSync(journal.path, "utf8")).toContain("synced-1");
    void journal.record(usageRow({ requestId: "synced-2" }));
    await journal.flush();
    expect(ledgerIds(dir)).toEqual(new Set(["synced-1", "synced-2"]));
    await journal.close();
    await store.close();
  });

  it("imports the shared journal an older version left behind, and a per-process one without segments", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    const { clientRequestId: _, ...old } = usageRow({ requestId: "from-old-version" });
    writeFileSync(join(dir, LEGACY_JOURNAL), `${JSON.stringify(old)}\n{"torn":`);
    mkdirSync(join(dir, JOURNAL_FOLDER), { recursive: true });
    const unsegmented = join(dir, JOURNAL_FOLDER, "host-1-abcd.journal");
    writeFileSync(unsegmented, `${JSON.stringify(usageRow({ requestId: "before-segments" }))}\n`);
    const journal = await UsageJournal.open(store.usage, { dataDir: dir });
    expect(ledgerIds(dir)).toEqual(new Set(["from-old-version", "before-segments"]));
    expect(existsSync(join(dir, LEGACY_JOURNAL))).toBe(false);
    expect(existsSync(unsegmented)).toBe(false);
    await journal.close();
    await store.close();
  });
});
