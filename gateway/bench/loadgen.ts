import { readFileSync } from "node:fs";
import { Pool } from "undici";

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  /** SSE `data:` frames received, for streams. */
  frames: number;
}

export interface LoadSpec {
  url: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
  durationMs: number;
}

/**
 * Closed loop: `concurrency` workers send back-to-back requests for the duration. A caller that
 * drives one target in several turns passes its own `pool` (of `concurrency` connections) so
 * the connections outlive each turn; otherwise one is opened and closed here.
 */
export async function saturate(spec: LoadSpec, concurrency: number, shared?: Pool): Promise<LoadResult> {
  const pool = shared ?? new Pool(spec.url, { connections: concurrency, pipelining: 1 });
  const result: LoadResult = { requests: 0, errors: 0, seconds: 0, latenciesMs: [], frames: 0 };
  const start = performance.now();
  const end = start + spec.durationMs;
  const worker = async () => {
    while (performance.now() < end) await once(pool, spec, result);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.seconds = (performance.now() - start) / 1000;
  if (!shared) await pool.close();
  return result;
}

/** Open loop: requests start on a fixed schedule whatever the latency, as real traffic does. */
export function fixedRate(spec: LoadSpec, perSecond: number): Promise<LoadResult> {
  return atRate(spec, perSecond, { requests: 0, errors: 0, seconds: 0, latenciesMs: [], frames: 0 }, once);
}

/**
 * The open-loop schedule itself: `send` starts on time whatever the latency of those before it,
 * each one recording into `result`. `fixedRate` sends plain requests; bench/streamProbe.ts
 * sends streams and records their first byte too.
 */
export async function atRate<R extends LoadResult>(
  spec: LoadSpec,
  perSecond: number,
  result: R,
  send: (pool: Pool, spec: LoadSpec, result: R) => Promise<void>,
): Promise<R> {
  const pool = new Pool(spec.url, { connections: 256, pipelining: 1 });
  const total = Math.round((perSecond * spec.durationMs) / 1000);
  const interval = 1000 / perSecond;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(send(pool, spec, result));
  }
  await Promise.all(inflight);
  result.seconds = (performance.now() - start) / 1000;
  await pool.close();
  return result;
}

async function once(pool: Pool, spec: LoadSpec, result: LoadResult): Promise<void> {
  const t0 = performance.now();
  try {
    const res = await pool.request({
      method: "POST",
      path: spec.path,
      headers: { "content-type": "application/json", ...spec.headers },
      body: spec.body,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      result.errors++;
      return;
    }
    if (text.startsWith("data:")) result.frames += text.split("\n\n").length - 1;
    result.requests++;
    result.latenciesMs.push(performance.now() - t0);
  } catch {
    result.errors++;
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in microseconds, from /proc. */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / TICKS_PER_SECOND;
}
