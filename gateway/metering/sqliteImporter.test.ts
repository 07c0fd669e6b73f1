import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import { createLogger } from "../logger.ts";
import { serviceEnv, startServices } from "../services.ts";
import { openStore } from "../store/index.ts";
import { usageRow } from "../store/testing.ts";
import { sqliteImporter } from "./sqliteImporter.ts";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "gonka-import-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("usage imports into SQLite run off the event loop", () => {
  it("the gateway's services keep serving while an import waits for SQLite's write lock", async () => {
    const config = parseConfig(
      buildGatewayConfig({ models: [{ preset: "qwen3-32b", replicaUrls: ["http://127.0.0.1:9"] }] }),
    );
    const services = await startServices(
      config,
      serviceEnv({ GONKA_DATA_DIR: tempDir() }),
      createLogger("silent"),
    );
    // Another writer (a second gateway process on the same file, or a slow checkpoint) holds
    // the write lock for 300 ms. better-sqlite3 waits for it synchronously (busy_timeout):
    // on the event loop that froze every request in flight for as long.
    const other = new Database(services.store.location);
    try {
      for (let i = 0; i < 200; i++) await services.store.usage.record(usageRow());
      other.exec("BEGIN IMMEDIATE");
      const released = setTimeout(() => other.exec("COMMIT"), 300);
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const started = performance.now();
      expect(await services.store.usage.count()).toBe(200);
      delay.disable();
      clearTimeout(released);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      // The loop kept turning while the lock was held (a few ms of delay on a quiet machine).
      // When the import ran on this thread it waited out busy_timeout (5 s), then SQLITE_BUSY.
      expect(delay.max / 1e6 - 5).toBeLessThan(250);
    } finally {
      if (other.inTransaction) other.exec("COMMIT");
      other.close();
      await services.close();
    }
  });

  it("moves rows into the store on the configured metering.importIntervalMs", async () => {
    // Read the file through a connection of our own: count() on the journal would flush first.
    const rowsInFile = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM usage_rows").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const start = async (importIntervalMs: number) => {
      const config = parseConfig({
        ...buildGatewayConfig({ models: [{ preset: "qwen3-32b", replicaUrls: ["http://127.0.0.1:9"] }] }),
        metering: { importIntervalMs },
      });
      return startServices(config, serviceEnv({ GONKA_DATA_DIR: tempDir() }), createLogger("silent"));
    };
    const quick = await start(100);
    const slow = await start(60_000);
    try {
      await quick.store.usage.record(usageRow());
      await slow.store.usage.record(usageRow());
      const deadline = Date.now() + 5_000;
      while (rowsInFile(quick.store.location) === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rowsInFile(quick.store.location)).toBe(1);
      // Well past the 250 ms default: the row is still only in the journal.
      await new Promise((r) => setTimeout(r, 600));
      expect(rowsInFile(slow.store.location)).toBe(0);
    } finally {
      await quick.close();
      await slow.close();
    }
  });

  it("commits through its own connection: rows are in the file, duplicates ignored, reads see them", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    const importer = sqliteImporter({ file: store.location });
    try {
      const batch = Array.from({ length: 300 }, () => usageRow());
      await importer.recordMany(batch);
      await importer.recordMany(batch.slice(0, 100));
      expect(await store.usage.count()).toBe(300);
    } finally {
      await importer.close();
      await store.close();
    }
  });

  it("imports a sealed journal segment by reading the file in the worker", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    const importer = sqliteImporter({ file: store.location });
    try {
      const rows = Array.from({ length: 120 }, () => usageRow());
      const segment = join(dir, "segment.journal");
      writeFileSync(segment, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
      await importer.importFile(segment);
      expect(await store.usage.count()).toBe(120);
    } finally {
      await importer.close();
      await store.close();
    }
  });

  it("close() waits for the worker even when nothing else keeps the process alive", () => {
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(new URL("./importerChild.ts", import.meta.url)), tempDir()],
      {
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    expect(child.stderr).not.toMatch(/unsettled top-level await/);
    expect(child.stdout.trim()).toBe("closed 1");
    expect(child.status).toBe(0);
  });

  it("a failed batch rejects (the journal keeps its rows) and the next one still imports", async () => {
    const dir = tempDir();
    const store = await openStore({ dataDir: dir });
    const importer = sqliteImporter({ file: store.location });
    try {
      const bad = { ...usageRow(), endpoint: undefined } as unknown as ReturnType<typeof usageRow>;
      await expect(importer.recordMany([usageRow(), bad])).rejects.toThrow();
      // The transaction rolled back as a whole: the good row of that batch is not in.
      expect(await store.usage.count()).toBe(0);
      await importer.recordMany([usageRow()]);
      expect(await store.usage.count()).toBe(1);
    } finally {
      await importer.close();
      await store.close();
    }
  });
});
