/**
 * The usage ledger: one row per finished request, and the summaries the admin API shows.
 * Grouping and percentiles are computed here in TypeScript over the filtered rows, so
 * every dialect shares one definition of "p95"; dialects only filter (by indexed columns).
 */
import { InvalidInput } from "./errors.ts";

export type UsageEndpoint = "chat.completions" | "completions" | "embeddings" | (string & {});

export interface UsageRow {
  /**
   * The gateway's own id for the request, generated per request (never the client's
   * `x-request-id`): the row's identity. Recording the same id twice keeps the first
   * row only, which is what makes replaying a journal safe.
   */
  requestId: string;
  /** The `x-request-id` the client sent, if any: for its support tickets, not for billing. */
  clientRequestId: string | null;
  /** When the request finished, ms since the epoch. */
  ts: number;
  keyId: string | null;
  tier: string | null;
  modelRequested: string;
  modelServed: string | null;
  /** The router rule that chose the served model (tiering); null for a request naming a model. */
  route?: string | null;
  replica: string | null;
  sessionId: string | null;
  endpoint: UsageEndpoint;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  ttftMs: number | null;
  latencyMs: number;
  /** HTTP status sent to the client. */
  status: number;
  streamed: boolean;
  clientAborted: boolean;
  errorCode: string | null;
}

export type UsageGroupField = "key" | "model" | "session" | "period";
export type UsagePeriod = "hour" | "day" | "month";

export interface UsageQuery {
  groupBy: UsageGroupField[];
  /** Required when grouping by period; buckets are UTC. */
  period?: UsagePeriod;
  /** Inclusive lower bound on ts (ms). */
  from?: number;
  /** Exclusive upper bound on ts (ms). */
  to?: number;
  keyId?: string;
  /** Matches the served model, or the requested one when nothing was served. */
  model?: string;
  /** Matches the name the client sent (a router alias, for tiering reports). */
  requested?: string;
  sessionId?: string;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface UsageSummaryRow {
  keyId?: string | null;
  /** Served model, or the requested one when the request never reached a backend. */
  model?: string;
  sessionId?: string | null;
  /** UTC bucket start: `2025-01-31T13:00Z` (hour), `2025-01-31` (day), `2025-01` (month). */
  period?: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  totalTokens: number;
  /** Requests answered with a status >= 400. */
  errors: number;
  /** Requests whose client went away before the end. */
  aborted: number;
  latencyMs: Percentiles;
  /** Over requests that produced a first token; null when none did. */
  ttftMs: Percentiles;
}

export interface UsageLedger {
  /**
   * One insert; when it resolves the row is committed. Committed means it survives a crash
   * of this process; whether it survives a host crash depends on the dialect's durability
   * (SQLite's `synchronous` setting, see sqlite/database.ts; Postgres commits durably).
   */
  record(row: UsageRow): Promise<void>;
  /** Many rows in one transaction: all or none; rows already recorded are skipped. */
  recordMany(rows: readonly UsageRow[]): Promise<void>;
  summary(query: UsageQuery): Promise<UsageSummaryRow[]>;
  /**
   * The model that last answered (status < 400) this key's session through `requested` (a
   * router alias), or null: a tiered conversation stays on the model it started on.
   */
  lastServed(keyId: string | null, sessionId: string, requested: string): Promise<string | null>;
  count(): Promise<number>;
}

/** The slice of a row that summaries read; dialects yield these from their filtered scan. */
export type UsageFact = Pick<
  UsageRow,
  | "ts"
  | "keyId"
  | "modelRequested"
  | "modelServed"
  | "sessionId"
  | "promptTokens"
  | "completionTokens"
  | "reasoningTokens"
  | "cachedTokens"
  | "ttftMs"
  | "latencyMs"
  | "status"
  | "clientAborted"
>;

/** A `usage_rows` row as both dialects' summary scans return it (the columns in FACT_COLUMNS). */
export interface UsageFactRow {
  ts: number;
  key_id: string | null;
  model_requested: string;
  model_served: string | null;
  session_id: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
  ttft_ms: number | null;
  latency_ms: number;
  status: number;
  /** SQLite stores 0/1, Postgres a boolean. */
  client_aborted: number | boolean;
}

export const FACT_COLUMNS = `ts, key_id, model_requested, model_served, session_id, prompt_tokens, completion_tokens,
  reasoning_tokens, cached_tokens, ttft_ms, latency_ms, status, client_aborted`;

export function factFromRow(row: UsageFactRow): UsageFact {
  return {
    ts: row.ts,
    keyId: row.key_id,
    modelRequested: row.model_requested,
    modelServed: row.model_served,
    sessionId: row.session_id,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    reasoningTokens: row.reasoning_tokens,
    cachedTokens: row.cached_tokens,
    ttftMs: row.ttft_ms,
    latencyMs: row.latency_ms,
    status: row.status,
    clientAborted: Boolean(row.client_aborted),
  };
}

function invalidQuery(param: string, message: string): InvalidInput {
  return new InvalidInput("invalid_usage_query", param, message);
}

/** Throws InvalidInput naming the bad field (the admin API answers it as a 400). */
export function validateUsageQuery(query: UsageQuery): void {
  const allowed: UsageGroupField[] = ["key", "model", "session", "period"];
  if (!Array.isArray(query.groupBy)) throw invalidQuery("groupBy", "groupBy must be an array.");
  for (const field of query.groupBy) {
    if (!allowed.includes(field)) {
      throw invalidQuery(
        "groupBy",
        `Unknown grouping "${String(field)}"; use key, model, session or period.`,
      );
    }
  }
  if (query.period !== undefined && !["hour", "day", "month"].includes(query.period)) {
    throw invalidQuery("period", `Unknown period "${String(query.period)}"; use hour, day or month.`);
  }
  if (query.groupBy.includes("period") && !query.period) {
    throw invalidQuery("period", "Grouping by period needs period: hour, day or month.");
  }
}

export function periodBucket(ts: number, period: UsagePeriod): string {
  const iso = new Date(ts).toISOString(); // 2025-01-31T13:45:12.345Z
  if (period === "hour") return `${iso.slice(0, 13)}:00Z`;
  if (period === "day") return iso.slice(0, 10);
  return iso.slice(0, 7);
}

/**
 * Nearest-rank percentile: the smallest value with at least p% of the values at or below
 * it. Always an observed value (no interpolation), which is what an SLO check expects.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

function percentiles(values: number[]): Percentiles {
  const sorted = values.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

interface Accumulator {
  group: Pick<UsageSummaryRow, "keyId" | "model" | "sessionId" | "period">;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  errors: number;
  aborted: number;
  latencies: number[];
  ttfts: number[];
}

/** Groups facts as the query asks; rows come out sorted by their group fields. */
export function summarize(facts: Iterable<UsageFact>, query: UsageQuery): UsageSummaryRow[] {
  validateUsageQuery(query);
  const groups = new Map<string, Accumulator>();
  for (const fact of facts) {
    const group: Accumulator["group"] = {};
    if (query.groupBy.includes("key")) group.keyId = fact.keyId;
    if (query.groupBy.includes("model")) group.model = fact.modelServed ?? fact.modelRequested;
    if (query.groupBy.includes("session")) group.sessionId = fact.sessionId;
    if (query.groupBy.includes("period")) group.period = periodBucket(fact.ts, query.period ?? "day");
    const id = JSON.stringify([group.keyId, group.model, group.sessionId, group.period]);
    let acc = groups.get(id);
    if (!acc) {
      acc = {
        group,
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        reasoningTokens: 0,
        cachedTokens: 0,
        errors: 0,
        aborted: 0,
        latencies: [],
        ttfts: [],
      };
      groups.set(id, acc);
    }
    acc.requests += 1;
    acc.promptTokens += fact.promptTokens;
    acc.completionTokens += fact.completionTokens;
    acc.reasoningTokens += fact.reasoningTokens;
    acc.cachedTokens += fact.cachedTokens;
    if (fact.status >= 400) acc.errors += 1;
    if (fact.clientAborted) acc.aborted += 1;
    acc.latencies.push(fact.latencyMs);
    if (fact.ttftMs !== null) acc.ttfts.push(fact.ttftMs);
  }
  const sortedIds = [...groups.keys()].sort();
  return sortedIds.map((id) => {
    const acc = groups.get(id)!;
    return {
      ...acc.group,
      requests: acc.requests,
      promptTokens: acc.promptTokens,
      completionTokens: acc.completionTokens,
      reasoningTokens: acc.reasoningTokens,
      cachedTokens: acc.cachedTokens,
      // Reasoning tokens are part of completion tokens in OpenAI's accounting, so they are not added again.
      totalTokens: acc.promptTokens + acc.completionTokens,
      errors: acc.errors,
      aborted: acc.aborted,
      latencyMs: percentiles(acc.latencies),
      ttftMs: percentiles(acc.ttfts),
    };
  });
}
