/**
 * Cost of recording a usage row on the request path, per durability mode:
 *   node gateway/metering/bench/journalBench.ts [rows]
 * `off`: one write(2) to the process's journal (survives a process crash).
 * `row`: write(2) + fdatasync(2) (also survives a host crash or power loss).
 * Batch imports into SQLite run on the same thread and are included in the mean.
 */
import { openStore } from "../../store/index.ts";
import { tempDataDir, usageRow } from "../../store/testing.ts";
import { UsageJournal } from "../usageJournal.ts";

export interface JournalMeasurement {
  mode: "off" | "row";
  rows: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
}

export async function measureJournal(mode: "off" | "row", rows: number): Promise<JournalMeasurement> {
  const data = tempDataDir();
  const store = await openStore({ dataDir: data.dir, synchronous: mode === "row" ? "FULL" : "NORMAL" });
  const journal = await UsageJournal.open(store.usage, { dataDir: data.dir, fsync: mode === "row" });
  try {
    const samples = new Float64Array(rows);
    const started = process.hrtime.bigint();
    for (let i = 0; i < rows; i++) {
      const row = usageRow({ ts: Date.now() });
      const t = process.hrtime.bigint();
      void journal.record(row);
      samples[i] = Number(process.hrtime.bigint() - t) / 1_000;
      // Let the batched imports run, as they do between requests; the mean includes them.
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    const totalUs = Number(process.hrtime.bigint() - started) / 1_000;
    samples.sort();
    return {
      mode,
      rows,
      meanUs: totalUs / rows,
      p50Us: samples[Math.floor(rows * 0.5)] ?? 0,
      p99Us: samples[Math.floor(rows * 0.99)] ?? 0,
    };
  } finally {
    await journal.close();
    await store.close();
    data.remove();
  }
}

if (import.meta.main) {
  const rows = Number(process.argv[2] ?? 5_000);
  for (const mode of ["off", "row"] as const) {
    const m = await measureJournal(mode, rows);
    console.log(
      `metering.fsync=${mode}: ${m.rows} rows, mean ${m.meanUs.toFixed(1)} µs, ` +
        `p50 ${m.p50Us.toFixed(1)} µs, p99 ${m.p99Us.toFixed(1)} µs`,
    );
  }
}
