/**
 * The usage view's table: one row per group (model by default) and a total row, the
 * columns an engineer replaying an agent watches (tokens in/out/reasoning/cached, time to
 * first token and latency p50/p95, errors), drawn with cli-table3.
 */
import Table from "cli-table3";

/** One row of `/admin/usage` or `/v1/usage` (JSON), as the gateway sends it. */
export interface UsageRowJson {
  key_id?: string | null;
  model?: string;
  session_id?: string | null;
  period?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  errors: number;
  aborted: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  ttft_ms: { p50: number | null; p95: number | null; p99: number | null };
}

const GROUP_LABEL: Record<string, keyof UsageRowJson> = {
  key: "key_id",
  model: "model",
  session: "session_id",
  period: "period",
};

const count = (n: number) => n.toLocaleString("en-US");
const ms = (n: number | null) =>
  n === null ? "–" : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US");
const pair = (p: { p50: number | null; p95: number | null }) => `${ms(p.p50)} / ${ms(p.p95)}`;

export function renderUsageTable(
  groupBy: readonly string[],
  rows: readonly UsageRowJson[],
  total: UsageRowJson | undefined,
): string {
  const table = new Table({
    head: [
      ...groupBy,
      "requests",
      "tokens in",
      "out",
      "reasoning",
      "cached",
      "TTFT p50 / p95 ms",
      "latency p50 / p95 ms",
      "errors",
    ],
    style: { head: [], border: [] },
  });
  const cells = (row: UsageRowJson) => [
    count(row.requests),
    count(row.prompt_tokens),
    count(row.completion_tokens),
    count(row.reasoning_tokens),
    count(row.cached_tokens),
    pair(row.ttft_ms),
    pair(row.latency_ms),
    row.aborted > 0 ? `${count(row.errors)} (+${count(row.aborted)} aborted)` : count(row.errors),
  ];
  for (const row of rows) {
    table.push([...groupBy.map((g) => String(row[GROUP_LABEL[g]!] ?? "(none)")), ...cells(row)]);
  }
  if (total && groupBy.length > 0 && rows.length > 1) {
    table.push([...groupBy.map((_, i) => (i === 0 ? "total" : "")), ...cells(total)]);
  }
  if (rows.length === 0) return "no requests yet";
  return table.toString();
}
