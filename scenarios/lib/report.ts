import type { RecordedStep } from "./recorder.ts";
import type { Check } from "./types.ts";

/** One scenario run, as written to `<name>.json` and rendered to `<name>.md`. */
export interface ScenarioReport {
  scenario: string;
  framework: string;
  task: string;
  target: string;
  model: string;
  /** The `X-Session-Id` every model call carried: find the run in the gateway's sessions and usage. */
  sessionId: string;
  /** Faults set on the simulators for this run (a fault run must fail). */
  faults: string[];
  pass: boolean;
  /** The first failed check's detail, or the error that ended the run; "" when it passed. */
  reason: string;
  checks: Check[];
  steps: RecordedStep[];
  totals: {
    steps: number;
    toolCalls: number;
    promptTokens: number;
    completionTokens: number;
    wallMs: number;
  };
  /** Per-rule hits of the simulator script (local target only). */
  scriptHits: { replica: string; rules: { name: string; hits: number }[]; unmatched: number }[];
  log: string[];
  startedAt: string;
}

export function totals(steps: readonly RecordedStep[], wallMs: number): ScenarioReport["totals"] {
  return {
    steps: steps.length,
    toolCalls: steps.reduce((n, s) => n + s.toolCalls.length, 0),
    promptTokens: steps.reduce((n, s) => n + (s.promptTokens ?? 0), 0),
    completionTokens: steps.reduce((n, s) => n + (s.completionTokens ?? 0), 0),
    wallMs: Math.round(wallMs),
  };
}

const cell = (s: string, max = 80) => {
  const one = s.replace(/\s+/g, " ").replace(/\|/g, "\\|");
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

export function renderMarkdown(r: ScenarioReport): string {
  const lines = [
    `# Scenario ${r.scenario}: ${r.pass ? "PASS" : "FAIL"}`,
    "",
    `- framework: ${r.framework}; target: ${r.target}; model: ${r.model}`,
    `- task: ${r.task}`,
    `- gateway session id: \`${r.sessionId}\``,
    ...(r.faults.length > 0 ? [`- faults set: ${r.faults.join(", ")}`] : []),
    ...(r.pass ? [] : [`- **reason**: ${r.reason}`]),
    `- ${r.totals.steps} model calls, ${r.totals.toolCalls} tool calls, ${r.totals.promptTokens} prompt + ${r.totals.completionTokens} completion tokens, ${r.totals.wallMs} ms`,
    "",
    "## Checks",
    "",
    ...r.checks.map((c) => `- ${c.pass ? "✅" : "❌"} ${c.name}: ${c.detail}`),
    "",
    "## Steps",
    "",
    "| # | stream | status | answering | tool calls (arguments) | content | finish | tokens in/out | latency ms (first byte) | error |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...r.steps
      .map((s) =>
        [
          s.index,
          s.stream ? "yes" : "no",
          s.status,
          `${s.lastRole} (${s.messages} msgs)`,
          cell(s.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.arguments)})`).join("; "), 120),
          cell(s.content),
          s.finishReason ?? "",
          `${s.promptTokens ?? "?"}/${s.completionTokens ?? "?"}`,
          `${s.latencyMs} (${s.ttfbMs})`,
          cell(s.error ?? ""),
        ].join(" | "),
      )
      .map((row) => `| ${row} |`),
  ];
  if (r.scriptHits.length > 0) {
    lines.push("", "## Simulator script hits", "");
    for (const h of r.scriptHits) {
      const rules = h.rules.map((x) => `${x.name}: ${x.hits}`).join(", ");
      lines.push(`- ${h.replica}: ${rules}; unmatched: ${h.unmatched}`);
    }
  }
  if (r.log.length > 0) lines.push("", "## Log", "", "```", ...r.log.map((l) => cell(l, 400)), "```");
  return `${lines.join("\n")}\n`;
}

/** The summary of several runs (`npm run scenarios`). */
export function renderSummary(reports: readonly ScenarioReport[]): string {
  const lines = [
    "# Agent scenarios",
    "",
    "| scenario | result | steps | tool calls | tokens in/out | ms | reason |",
    "|---|---|---|---|---|---|---|",
    ...reports.map(
      (r) =>
        `| [${r.scenario}](${r.scenario}${r.faults.length > 0 ? ".fault" : ""}.md) | ${r.pass ? "PASS" : "FAIL"} | ${r.totals.steps} | ${r.totals.toolCalls} | ${r.totals.promptTokens}/${r.totals.completionTokens} | ${r.totals.wallMs} | ${cell(r.reason, 160)} |`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}
