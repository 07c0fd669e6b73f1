/**
 * Cost of metering: one synchronous usage-row INSERT (WAL, synchronous=NORMAL) per request.
 *   node gateway/store/bench/usageInsertBench.ts [rows]
 * The gateway benchmark can call measureUsageInsert() and print it beside its own rows.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openStore } from "../index.ts";
import type { UsageRow } from "../usage.ts";

export interface InsertMeasurement {
  rows: number;
  /** Mean wall time per insert, microseconds. */
  meanUs: number;
  p50Us: number;
  p99Us: number;
}

export async function measureUsageInsert(rows = 20_000): Promise<InsertMeasurement> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gonka-usage-bench-"));
  const store = await openStore({ dataDir: dir });
  try {
    const base: UsageRow = {
      requestId: "",
      clientRequestId: null,
      ts: Date.now(),
      keyId: "key_0123456789abcdef0123",
      tier: "standard",
      modelRequested: "kimi-k2.5",
      modelServed: "kimi-k2.5",
      replica: "http://10.0.0.1:8000",
      sessionId: "sess_abc",
      endpoint: "chat.completions",
      promptTokens: 1_200,
      completionTokens: 300,
      reasoningTokens: 120,
      cachedTokens: 1_024,
      ttftMs: 180.5,
      latencyMs: 2_300.25,
      status: 200,
      streamed: true,
      clientAborted: false,
      errorCode: null,
    };
    const warmup = Math.min(1_000, rows);
    for (let i = 0; i < warmup; i++) await store.usage.record({ ...base, requestId: `warm_${i}` });
    const samples = new Float64Array(rows);
    const started = process.hrtime.bigint();
    for (let i = 0; i < rows; i++) {
      const row = { ...base, requestId: `req_${i}_${Math.random().toString(36).slice(2)}`, ts: Date.now() };
      const t = process.hrtime.bigint();
      await store.usage.record(row);
      samples[i] = Number(process.hrtime.bigint() - t) / 1_000;
    }
    const totalUs = Number(process.hrtime.bigint() - started) / 1_000;
    samples.sort();
    return {
      rows,
      meanUs: totalUs / rows,
      p50Us: samples[Math.floor(rows * 0.5)] ?? 0,
      p99Us: samples[Math.floor(rows * 0.99)] ?? 0,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const rows = Number(process.argv[2] ?? 20_000);
  const m = await measureUsageInsert(rows);
  console.log(
    `usage insert (WAL, synchronous=NORMAL): ${m.rows} rows, mean ${m.meanUs.toFixed(1)} µs, ` +
      `p50 ${m.p50Us.toFixed(1)} µs, p99 ${m.p99Us.toFixed(1)} µs`,
  );
}
