/**
 * Usage statistics (GATE-04, GATE-08) and the agent "dashboard" (AGNT-05): totals and latency
 * percentiles from the usage ledger, grouped by any of key, model, session and period.
 */
import type { Router } from "@koa/router";
import type { Context, Middleware } from "koa";
import { z } from "zod";
import type { GatewayState } from "../state.ts";
import type { Store, UsageGroupField, UsageQuery, UsageSummaryRow } from "../store/index.ts";
import { usageObject } from "./serialize.ts";
import { usageCsv } from "./usageCsv.ts";
import { type FieldHelp, invalidField, parseOr400 } from "./validate.ts";

const GROUP_FIELDS: readonly UsageGroupField[] = ["key", "model", "session", "period"];
const CODE = "invalid_usage_query";

const HELP: FieldHelp = {
  group_by: "`group_by` is a comma-separated list of key, model, session, period.",
  period: "`period` must be hour, day or month.",
  from: "`from` must be a unix time in seconds or an ISO 8601 date (`2025-01-31`, `2025-01-31T13:00:00Z`).",
  to: "`to` must be a unix time in seconds or an ISO 8601 date (`2025-01-31`, `2025-01-31T13:00:00Z`).",
  key_id: "`key_id` must be a key id.",
  model: "`model` must be a model id.",
  session_id: "`session_id` must be a session id.",
};

/** A query parameter given once (`?a=1`) or repeated (`?a=1&a=2`), as a list of values. */
const values = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));
const single = z.string().min(1).max(500);

const usageParams = z.strictObject({
  group_by: values.optional(),
  period: z.enum(["hour", "day", "month"]).optional(),
  from: single.optional(),
  to: single.optional(),
  key_id: single.optional(),
  model: single.optional(),
  session_id: single.optional(),
});

/**
 * Unix seconds (`1738300000`) or ISO 8601. A date-time without an offset is read as UTC, so
 * the answer does not depend on the gateway host's time zone. Returns ms since the epoch.
 */
export function parseTime(value: string, param: string): number {
  let ms: number;
  if (/^\d{1,11}$/.test(value)) {
    ms = Number(value) * 1000;
  } else if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(value)) {
    const withZone = /T[\d:.]+$/i.test(value) ? `${value}Z` : value;
    ms = Date.parse(withZone);
  } else {
    ms = Number.NaN;
  }
  if (!Number.isFinite(ms)) throw invalidField(CODE, param, HELP[param]!);
  return ms;
}

export function parseUsageQuery(query: Record<string, unknown>): UsageQuery {
  const params = parseOr400(usageParams, query, CODE, HELP, "parameter");
  const groupBy: UsageGroupField[] = [];
  for (const field of (params.group_by ?? []).flatMap((v) => v.split(","))) {
    const name = field.trim();
    if (name === "") continue;
    if (!GROUP_FIELDS.includes(name as UsageGroupField)) {
      throw invalidField(
        CODE,
        "group_by",
        `Unknown group_by field \`${name}\`; use key, model, session or period.`,
      );
    }
    if (!groupBy.includes(name as UsageGroupField)) groupBy.push(name as UsageGroupField);
  }
  if (groupBy.includes("period") && !params.period) {
    throw invalidField(CODE, "period", "group_by=period needs period=hour, day or month.");
  }
  const out: UsageQuery = { groupBy };
  if (params.period) out.period = params.period;
  if (params.from !== undefined) out.from = parseTime(params.from, "from");
  if (params.to !== undefined) out.to = parseTime(params.to, "to");
  if (out.from !== undefined && out.to !== undefined && out.from >= out.to) {
    throw invalidField(CODE, "to", "`to` must be later than `from` (from is inclusive, to exclusive).");
  }
  if (params.key_id) out.keyId = params.key_id;
  if (params.model) out.model = params.model;
  if (params.session_id) out.sessionId = params.session_id;
  return out;
}

export function mountUsageRoutes(
  router: Router<GatewayState>,
  guard: Middleware<GatewayState>,
  store: Store,
): void {
  router.get("/admin/usage", guard, async (ctx) => {
    const query = parseUsageQuery({ ...ctx.query });
    sendUsage(ctx, query, await store.usage.summary(query));
  });
}

/** JSON by default; CSV when the client prefers `text/csv` (`Accept: text/csv`). */
export function sendUsage(ctx: Context, query: UsageQuery, rows: readonly UsageSummaryRow[]): void {
  ctx.vary("Accept");
  if (ctx.accepts("application/json", "text/csv") === "text/csv") {
    ctx.type = "text/csv; charset=utf-8";
    ctx.body = usageCsv(query, rows);
    return;
  }
  ctx.body = {
    object: "list",
    group_by: query.groupBy,
    period: query.period ?? null,
    data: rows.map(usageObject),
  };
}
