/**
 * Usage summaries as CSV (`Accept: text/csv` on `/admin/usage` and `/v1/usage`), for
 * spreadsheets and billing exports: the JSON object's fields flattened, percentiles as
 * `latency_ms_p50` and so on, one header line, group columns first in the query's order.
 */
import { stringify } from "csv-stringify/sync";
import type { UsageGroupField, UsageQuery, UsageSummaryRow } from "../store/index.ts";

const GROUP_COLUMN: Record<UsageGroupField, string> = {
  key: "key_id",
  model: "model",
  session: "session_id",
  period: "period",
};

const PERCENTILES = ["p50", "p95", "p99"] as const;

export function usageCsv(query: UsageQuery, rows: readonly UsageSummaryRow[]): string {
  const groupColumns = query.groupBy.map((g) => GROUP_COLUMN[g]);
  const header = [
    ...groupColumns,
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "total_tokens",
    "errors",
    "aborted",
    ...PERCENTILES.map((p) => `latency_ms_${p}`),
    ...PERCENTILES.map((p) => `ttft_ms_${p}`),
  ];
  const group = (row: UsageSummaryRow, g: UsageGroupField) =>
    textCell({ key: row.keyId, model: row.model, session: row.sessionId, period: row.period }[g] ?? "");
  const records = rows.map((row) => [
    ...query.groupBy.map((g) => group(row, g)),
    row.requests,
    row.promptTokens,
    row.completionTokens,
    row.reasoningTokens,
    row.cachedTokens,
    row.totalTokens,
    row.errors,
    row.aborted,
    // An empty cell, not "null", where no request had a first token.
    ...PERCENTILES.map((p) => row.latencyMs[p] ?? ""),
    ...PERCENTILES.map((p) => row.ttftMs[p] ?? ""),
  ]);
  return stringify([header, ...records]);
}

/**
 * Session ids come from clients: a cell a spreadsheet would run as a formula (`=…`, `+…`,
 * `-…`, `@…`) gets a leading apostrophe, as OWASP's CSV-injection advice says.
 */
function textCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
