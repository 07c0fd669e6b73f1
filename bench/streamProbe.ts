/**
 * Streams started on a fixed schedule (open loop, as `fixedRate` in gateway/bench/loadgen.ts),
 * recording each one's time to first byte as well as its whole time. loadgen reads a body
 * whole, so it cannot see the first byte; this is the one measurement it lacks.
 */
import { Pool } from "undici";
import type { LoadResult, LoadSpec } from "../gateway/bench/loadgen.ts";

export interface StreamResult extends LoadResult {
  ttfbMs: number[];
}

export async function streamsAtRate(spec: LoadSpec, perSecond: number): Promise<StreamResult> {
  const pool = new Pool(spec.url, { connections: 256, pipelining: 1 });
  const result: StreamResult = { requests: 0, errors: 0, seconds: 0, latenciesMs: [], frames: 0, ttfbMs: [] };
  const total = Math.round((perSecond * spec.durationMs) / 1000);
  const interval = 1000 / perSecond;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(stream(pool, spec, result));
  }
  await Promise.all(inflight);
  result.seconds = (performance.now() - start) / 1000;
  await pool.close();
  return result;
}

async function stream(pool: Pool, spec: LoadSpec, result: StreamResult): Promise<void> {
  const t0 = performance.now();
  try {
    const res = await pool.request({
      method: "POST",
      path: spec.path,
      headers: { "content-type": "application/json", ...spec.headers },
      body: spec.body,
    });
    let ttfb: number | undefined;
    let text = "";
    for await (const chunk of res.body) {
      ttfb ??= performance.now() - t0;
      text += (chunk as Buffer).toString("utf8");
    }
    if (res.statusCode !== 200 || !text.includes("[DONE]")) {
      result.errors++;
      return;
    }
    result.frames += text.split("\n\n").length - 1;
    result.requests++;
    result.latenciesMs.push(performance.now() - t0);
    result.ttfbMs.push(ttfb ?? 0);
  } catch {
    result.errors++;
  }
}
