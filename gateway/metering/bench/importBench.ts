/**
 * What importing usage rows into SQLite costs the event loop, on the main thread (as
 * before) and through the worker thread (sqliteImporter.ts, what the gateway does):
 *   node gateway/metering/bench/importBench.ts [rows]
 * Rows are journaled 50 at a time with a turn of the loop in between, as under traffic;
 * batches of 500 are imported meanwhile. Reports the loop's busy time per row (from
 * performance.eventLoopUtilization, main thread only) and the longest delay it saw.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { openStore } from "../../store/index.ts";
import { tempDataDir, usageRow } from "../../store/testing.ts";
import { sqliteImporter } from "../sqliteImporter.ts";
import { UsageJournal } from "../usageJournal.ts";

export interface ImportMeasurement {
  where: "event loop" | "worker thread";
  rows: number;
  /** Event-loop busy time per row, journal write included. */
  loopUsPerRow: number;
  /** Longest event-loop delay while importing. */
  maxDelayMs: number;
}

export async function measureImport(
  where: ImportMeasurement["where"],
  rows: number,
): Promise<ImportMeasurement> {
  const data = tempDataDir();
  const store = await openStore({ dataDir: data.dir });
  const importer = where === "worker thread" ? sqliteImporter({ file: store.location }) : undefined;
  const journal = await UsageJournal.open(store.usage, {
    dataDir: data.dir,
    ...(importer ? { importSegment: importer.importFile } : {}),
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  try {
    await new Promise((r) => setTimeout(r, 200)); // the worker boots
    delay.enable();
    const elu0 = performance.eventLoopUtilization();
    for (let i = 0; i < rows; i += 50) {
      for (let j = 0; j < 50; j++) void journal.record(usageRow({ ts: Date.now() }));
      await new Promise((r) => setImmediate(r));
    }
    await journal.flush();
    const elu = performance.eventLoopUtilization(elu0);
    delay.disable();
    if ((await store.usage.count()) !== rows) throw new Error("rows missing");
    return {
      where,
      rows,
      loopUsPerRow: (elu.active * 1000) / rows,
      maxDelayMs: Math.max(0, delay.max / 1e6 - 1),
    };
  } finally {
    await journal.close();
    await importer?.close();
    await store.close();
    data.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = Number(process.argv[2] ?? 20_000);
  console.log("| imports run on | rows | event-loop busy µs per row | longest event-loop delay ms |");
  console.log("|---|---:|---:|---:|");
  for (const where of ["event loop", "worker thread"] as const) {
    const m = await measureImport(where, rows);
    console.log(`| ${m.where} | ${m.rows} | ${m.loopUsPerRow.toFixed(1)} | ${m.maxDelayMs.toFixed(1)} |`);
  }
}
