/**
 * k6's end-of-test summary (the object `handleSummary` receives) as Markdown, for a CI job
 * summary: every threshold with pass or FAIL, then the gonka_* metrics and k6's request
 * counters. No k6 imports, so the Node tests can check it too.
 */

/** The parts of k6's summary data used here (k6 ≥ 0.30, unchanged through 1.x). */
export interface K6Metric {
  type: "counter" | "gauge" | "rate" | "trend";
  contains?: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface K6SummaryData {
  metrics: Record<string, K6Metric>;
  state?: { testRunDurationMs?: number };
}

const SHOWN = [
  "gonka_errors",
  "gonka_429",
  "gonka_malformed_429",
  "gonka_latency_ok",
  "gonka_ttft",
  "http_reqs",
  "iterations",
  "http_req_failed",
];

function value(m: K6Metric, stat: string): string {
  const v = m.values[stat];
  if (v === undefined) return "—";
  if (m.type === "rate") return `${(v * 100).toFixed(2)} %`;
  if (m.contains === "time") return `${v.toFixed(1)} ms`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

export function summaryMarkdown(scenario: string, target: string, data: K6SummaryData): string {
  const thresholds = Object.entries(data.metrics).flatMap(([name, m]) =>
    Object.entries(m.thresholds ?? {}).map(([condition, t]) => ({ name, condition, ok: t.ok })),
  );
  const failed = thresholds.filter((t) => !t.ok).length;
  const seconds = ((data.state?.testRunDurationMs ?? 0) / 1000).toFixed(0);
  const lines = [
    `### k6 ${scenario} against ${target}: ${failed === 0 ? "passed" : `FAILED (${failed} of ${thresholds.length} thresholds)`}`,
    "",
    `${seconds} s.`,
    "",
    "| metric | threshold | result |",
    "|---|---|---|",
    ...thresholds.map((t) => `| ${t.name} | \`${t.condition}\` | ${t.ok ? "pass" : "**FAIL**"} |`),
    "",
    "| metric | value | p50 | p95 | p99 | max |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const name of SHOWN) {
    const m = data.metrics[name];
    if (!m) continue;
    const main =
      m.type === "trend" ? value(m, "avg") : m.type === "rate" ? value(m, "rate") : value(m, "count");
    const pct = (stat: string) => (m.type === "trend" ? value(m, stat) : "");
    lines.push(`| ${name} | ${main} | ${pct("p(50)")} | ${pct("p(95)")} | ${pct("p(99)")} | ${pct("max")} |`);
  }
  return `${lines.join("\n")}\n`;
}
