/**
 * Streams started on a fixed schedule (open loop: `atRate` in gateway/bench/loadgen.ts),
 * recording each one's time to first byte as well as its whole time. loadgen reads a body
 * whole, so it cannot see the first byte; this is the one measurement it lacks.
 */
import type { Pool } from "undici";
import { atRate, type LoadResult, type LoadSpec } from "../gateway/bench/loadgen.ts";

export interface StreamResult extends LoadResult {
  ttfbMs: number[];
}

export function streamsAtRate(spec: LoadSpec, perSecond: number): Promise<StreamResult> {
  const empty: StreamResult = { requests: 0, errors: 0, seconds: 0, latenciesMs: [], frames: 0, ttfbMs: [] };
  return atRate(spec, perSecond, empty, stream);
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
