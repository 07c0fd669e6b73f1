/**
 * One interleaved run: every round measures every cell (saturated and at a fixed rate,
 * non-streamed and streamed) on every target in turn, and a row keeps the median round:
 * throughput, CPU, and each latency percentile (taken per round, then the median). A shared
 * VM's noise moves single runs by ±30%; interleaving spreads it evenly over the rows. This VM
 * also stalls whole processes for 20–100 ms at random, and one stall in one round would set
 * the p99 of all rounds pooled; a stall a target causes itself recurs in every round.
 */
import { fixedRate, type LoadResult, type LoadSpec, percentile, saturate } from "../gateway/bench/loadgen.ts";
import { cpuMicros, processTree, rssBytes } from "./proc.ts";
import { streamsAtRate } from "./streamProbe.ts";
import type { BenchTarget, Endpoint } from "./targets.ts";

export interface BenchSettings {
  seconds: number;
  rounds: number;
  /** Requests (and streams) per second of the fixed-rate cells. */
  rate: number;
  /** Connections of the saturated cells. */
  connections: number;
}

/** One mode (non-streamed or streamed) of one target. */
export interface ModeRow {
  /** Median over rounds of requests per second at saturation. */
  rps: number;
  /** Median CPU µs per request at saturation (whole stream for streams); null for the simulator. */
  cpuUs: number | null;
  /** SSE events per stream (streams only). */
  framesPerRequest: number;
  /** Latency percentiles at the fixed rate, the median of the rounds'; null when not sustained. */
  p50: number | null;
  p99: number | null;
  ttfbP99: number | null;
  /** The fixed rate was far beyond this target (under half of it at saturation): not measured. */
  sustained: boolean;
  /** Measured, but in some round it completed under 90% of the rate: its latency includes queueing. */
  fellBehind: boolean;
  errors: number;
  /** Peak resident memory seen after a cell, bytes (0 for the simulator). */
  rssBytes: number;
}

export interface Row {
  target: BenchTarget;
  plain: ModeRow;
  streamed: ModeRow;
}

interface Samples {
  rps: number[];
  cpu: number[];
  frames: number;
  requests: number;
  /** Per round: the fixed-rate cell's p50, p99 and (streams) time-to-first-byte p99. */
  p50: number[];
  p99: number[];
  ttfbP99: number[];
  sustained: boolean;
  fellBehind: boolean;
  errors: number;
  rss: number;
}

/** Warm-up per cell: 4 s, or the cell's whole measured time if shorter (a quick check run). */
const MAX_WARM_UP_MS = 4_000;

const median = (xs: number[]) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : Number.NaN;
const f1 = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

export async function runBench(
  targets: readonly BenchTarget[],
  s: BenchSettings,
  log: (line: string) => void,
): Promise<Row[]> {
  const spec = (ep: Endpoint, durationMs: number): LoadSpec => ({
    url: ep.url,
    path: ep.path,
    body: ep.body,
    durationMs,
    ...(ep.headers ? { headers: ep.headers } : {}),
  });
  const fresh = (): Samples => ({
    rps: [],
    cpu: [],
    frames: 0,
    requests: 0,
    p50: [],
    p99: [],
    ttfbP99: [],
    sustained: true,
    fellBehind: false,
    errors: 0,
    rss: 0,
  });
  const samples = new Map(targets.map((t) => [t, { plain: fresh(), streamed: fresh() }]));

  log("warming up…");
  for (const t of targets) {
    // Long enough for V8 to finish optimising each request path, at the saturated cells'
    // connections: a gateway's first seconds cost up to twice the CPU of its steady state
    // (what is measured), and after 1.5 s at 8 connections the core's first cell still did.
    const warmUpMs = Math.min(MAX_WARM_UP_MS, s.seconds * s.rounds * 1000);
    for (const ep of [t.plain, t.streamed]) await saturate(spec(ep, warmUpMs), s.connections);
  }

  const durationMs = s.seconds * 1000;
  for (let round = 1; round <= s.rounds; round++) {
    for (const mode of ["plain", "streamed"] as const) {
      const label = mode === "plain" ? "non-streamed" : "streamed";
      for (const t of targets) {
        const ep = t[mode];
        const acc = samples.get(t)![mode];
        const pids = processTree(ep.pids);
        const cpu0 = cpuMicros(pids);
        const sat = await saturate(spec(ep, durationMs), s.connections);
        const cpu = cpuMicros(pids) - cpu0;
        const rps = sat.requests / sat.seconds;
        acc.rps.push(rps);
        if (pids.length) acc.cpu.push(cpu / Math.max(1, sat.requests));
        acc.frames += sat.frames;
        acc.requests += sat.requests;
        acc.errors += sat.errors;
        acc.rss = Math.max(acc.rss, rssBytes(processTree(ep.pids)));
        const cpuNote = pids.length ? `, ${f1(cpu / Math.max(1, sat.requests))} µs CPU each` : "";
        log(
          `round ${round}/${s.rounds}  ${label} saturated  ${t.name}: ${rps.toFixed(0)}/s${cpuNote}${sat.errors ? `, ${sat.errors} errors` : ""}`,
        );
      }
      for (const t of targets) {
        const ep = t[mode];
        const acc = samples.get(t)![mode];
        // A target that saturates far below the rate would only build a queue for minutes: say so
        // instead. One near it is measured (noise moves saturation by ±30% here) and flagged if it lags.
        if (acc.rps.at(-1)! < s.rate * 0.5) {
          acc.sustained = false;
          log(
            `round ${round}/${s.rounds}  ${label} @${s.rate}/s  ${t.name}: skipped, saturates at ${acc.rps.at(-1)!.toFixed(0)}/s`,
          );
          continue;
        }
        let r: LoadResult;
        if (mode === "plain") r = await fixedRate(spec(ep, durationMs), s.rate);
        else {
          const streamed = await streamsAtRate(spec(ep, durationMs), s.rate);
          if (streamed.ttfbMs.length) acc.ttfbP99.push(percentile(streamed.ttfbMs, 99));
          r = streamed;
        }
        if (r.latenciesMs.length) {
          acc.p50.push(percentile(r.latenciesMs, 50));
          acc.p99.push(percentile(r.latenciesMs, 99));
        }
        acc.errors += r.errors;
        const achieved = r.requests / r.seconds;
        if (achieved < s.rate * 0.9) acc.fellBehind = true;
        acc.rss = Math.max(acc.rss, rssBytes(processTree(ep.pids)));
        log(
          `round ${round}/${s.rounds}  ${label} @${s.rate}/s  ${t.name}: p50 ${percentile(r.latenciesMs, 50).toFixed(2)} ms, p99 ${percentile(r.latenciesMs, 99).toFixed(2)} ms${achieved < s.rate * 0.9 ? `, fell behind (${achieved.toFixed(0)}/s)` : ""}${r.errors ? `, ${r.errors} errors` : ""}`,
        );
      }
    }
  }

  const summarise = (acc: Samples): ModeRow => ({
    rps: median(acc.rps),
    cpuUs: acc.cpu.length ? median(acc.cpu) : null,
    framesPerRequest: acc.requests ? acc.frames / acc.requests : 0,
    p50: acc.sustained && acc.p50.length ? median(acc.p50) : null,
    p99: acc.sustained && acc.p99.length ? median(acc.p99) : null,
    ttfbP99: acc.sustained && acc.ttfbP99.length ? median(acc.ttfbP99) : null,
    sustained: acc.sustained,
    fellBehind: acc.fellBehind,
    errors: acc.errors,
    rssBytes: acc.rss,
  });
  return targets.map((t) => {
    const acc = samples.get(t)!;
    return { target: t, plain: summarise(acc.plain), streamed: summarise(acc.streamed) };
  });
}
