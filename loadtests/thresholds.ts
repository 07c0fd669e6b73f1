/** Turns a run's samples into the numbers a scenario's thresholds speak of, and checks them. */
import type { Sample } from "./engine.ts";
import type { Bound, Scenario } from "./scenario.ts";

export interface Stats {
  requests: number;
  ok: number;
  refused429: number;
  failed: number;
  errorRate: number;
  share429: number;
  p50LatencyMs: number | undefined;
  p95LatencyMs: number | undefined;
  p95TtftMs: number | undefined;
  /** 429s without a Retry-After header or without an OpenAI-shaped error body. */
  malformed429: number;
}

export interface Check {
  metric: keyof Scenario["thresholds"] | "malformed429";
  value: number | undefined;
  bound: Bound;
  pass: boolean;
}

/** Nearest-rank percentile (as k6 reports p(95)); undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarise(samples: readonly Sample[]): Stats {
  const ok = samples.filter((s) => s.status === 200 && !s.failed);
  const refused = samples.filter((s) => s.status === 429);
  const failed = samples.filter((s) => s.failed).length;
  const n = samples.length;
  return {
    requests: n,
    ok: ok.length,
    refused429: refused.length,
    failed,
    errorRate: n ? failed / n : 0,
    share429: n ? refused.length / n : 0,
    p50LatencyMs: percentile(
      ok.map((s) => s.latencyMs),
      50,
    ),
    p95LatencyMs: percentile(
      ok.map((s) => s.latencyMs),
      95,
    ),
    p95TtftMs: percentile(
      ok.flatMap((s) => (s.ttftMs === undefined ? [] : [s.ttftMs])),
      95,
    ),
    malformed429: refused.filter((s) => !/^\d+$/.test(s.retryAfter ?? "") || s.errorType === undefined)
      .length,
  };
}

function within(value: number | undefined, bound: Bound): boolean {
  if (value === undefined) return false; // a threshold on something never measured fails
  return (bound.min === undefined || value >= bound.min) && (bound.max === undefined || value <= bound.max);
}

/** Every threshold of the scenario, plus "every 429 is well-formed", with pass/fail. */
export function checkThresholds(stats: Stats, thresholds: Scenario["thresholds"]): Check[] {
  const checks: Check[] = [];
  for (const [metric, bound] of Object.entries(thresholds) as [keyof Scenario["thresholds"], Bound][]) {
    checks.push({ metric, value: stats[metric], bound, pass: within(stats[metric], bound) });
  }
  const b = { max: 0 };
  checks.push({
    metric: "malformed429",
    value: stats.malformed429,
    bound: b,
    pass: within(stats.malformed429, b),
  });
  return checks;
}
