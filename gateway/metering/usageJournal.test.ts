import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../store/index.ts";
import { usageRow } from "./testing.ts";
import { UsageJournal } from "./usageJournal.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gonka-journal-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("usage journal", () => {
  it("appends rows to the journal at once and imports them in batches", () => {
    const dir = tempDir();
    const store = openStore({ dataDir: dir });
    const journal = new UsageJournal(store.usage, { dataDir: dir, flushIntervalMs: 60_000, maxPending: 3 });
    journal.record(usageRow("a"));
    journal.record(usageRow("b"));
    expect(store.usage.count()).toBe(0);
    expect(readFileSync(join(dir, "usage.journal"), "utf8").trim().split("\n")).toHaveLength(2);
    journal.record(usageRow("c"));
    expect(store.usage.count()).toBe(3);
    expect(statSync(join(dir, "usage.journal")).size).toBe(0);
    journal.record(usageRow("d"));
    expect(journal.summary({ groupBy: ["key"] })[0]!.requests).toBe(4);
    journal.close();
    store.close();
  });

  it("replays what a killed process journaled, without losing or doubling a row", async () => {
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("./journalChild.ts", import.meta.url)), dir],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const acknowledged: string[] = [];
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stdout! }).on("line", (id) => {
        acknowledged.push(id);
        if (acknowledged.length === 500) {
          child.kill("SIGKILL");
          resolve();
        }
      });
    });
    await new Promise((r) => child.once("exit", r));
    const store = openStore({ dataDir: dir });
    const importedBefore = store.usage.count();
    expect(importedBefore).toBeLessThan(acknowledged.length);
    const journal = new UsageJournal(store.usage, { dataDir: dir });
    const count = journal.count();
    expect(count).toBeGreaterThanOrEqual(acknowledged.length);
    // Rows written after the last acknowledged one may exist; none acknowledged may be missing.
    expect(count - acknowledged.length).toBeLessThan(20);
    // Replaying the same rows again (a crash between import and truncate) changes nothing.
    journal.close();
    const again = new UsageJournal(store.usage, { dataDir: dir });
    for (const id of acknowledged.slice(0, 50)) again.record(usageRow(id));
    expect(again.count()).toBe(count);
    again.close();
    store.close();
  });
});
