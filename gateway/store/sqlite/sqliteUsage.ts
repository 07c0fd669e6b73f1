/** UsageLedger over SQLite. All usage SQL lives here; statements are prepared once (async only by interface). */
import {
  FACT_COLUMNS,
  factFromRow,
  summarize,
  type UsageFact,
  type UsageFactRow,
  type UsageLedger,
  type UsageQuery,
  type UsageRow,
  type UsageSummaryRow,
} from "../usage.ts";
import type { SqliteDatabase } from "./database.ts";

type FilterName = "from" | "to" | "keyId" | "model" | "requested" | "sessionId";

/** Each filter's SQL; time, key and session are served by indexes from migration 2. */
const FILTERS: ReadonlyArray<[FilterName, string]> = [
  ["from", "ts >= @from"],
  ["to", "ts < @to"],
  ["keyId", "key_id = @keyId"],
  ["model", "coalesce(model_served, model_requested) = @model"],
  ["requested", "model_requested = @requested"],
  ["sessionId", "session_id = @sessionId"],
];

export function createSqliteUsageLedger(db: SqliteDatabase): UsageLedger {
  // ON CONFLICT DO NOTHING (also valid Postgres): a retried record() of the same request is a no-op.
  const insert = db.prepare(
    `INSERT INTO usage_rows (request_id, client_request_id, ts, key_id, tier, model_requested, model_served, route, replica, session_id,
       endpoint, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, ttft_ms, latency_ms, status,
       streamed, client_aborted, error_code)
     VALUES (@requestId, @clientRequestId, @ts, @keyId, @tier, @modelRequested, @modelServed, @route, @replica, @sessionId,
       @endpoint, @promptTokens, @completionTokens, @reasoningTokens, @cachedTokens, @ttftMs, @latencyMs, @status,
       @streamed, @clientAborted, @errorCode)
     ON CONFLICT (request_id) DO NOTHING`,
  );
  const countRows = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM usage_rows");
  // The (session_id, ts) index finds the session's rows; the newest successful one wins.
  const lastServed = db.prepare<[string, string | null, string], { model_served: string | null }>(
    `SELECT model_served FROM usage_rows
      WHERE session_id = ? AND key_id IS ? AND model_requested = ? AND status < 400 AND model_served IS NOT NULL
      ORDER BY ts DESC, id DESC LIMIT 1`,
  );
  const toParams = (row: UsageRow) => ({
    ...row,
    // Rows journaled before the column existed have no client id.
    clientRequestId: row.clientRequestId ?? null,
    route: row.route ?? null,
    streamed: row.streamed ? 1 : 0,
    clientAborted: row.clientAborted ? 1 : 0,
  });
  const insertMany = db.transaction((rows: readonly UsageRow[]) => {
    for (const row of rows) insert.run(toParams(row));
  });

  // One statement per combination of filters present (at most 32), prepared on first use.
  const scans = new Map<string, ReturnType<typeof prepareScan>>();
  function prepareScan(names: FilterName[]) {
    const where = FILTERS.filter(([name]) => names.includes(name)).map(([, sql]) => sql);
    const sql = `SELECT ${FACT_COLUMNS} FROM usage_rows${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`;
    return db.prepare<[Record<string, unknown>], UsageFactRow>(sql);
  }

  return {
    async record(row: UsageRow): Promise<void> {
      insert.run(toParams(row));
    },

    async recordMany(rows: readonly UsageRow[]): Promise<void> {
      if (rows.length) insertMany(rows);
    },

    async summary(query: UsageQuery): Promise<UsageSummaryRow[]> {
      const names = FILTERS.map(([name]) => name).filter((name) => query[name] !== undefined);
      const shape = names.join(",");
      let scan = scans.get(shape);
      if (!scan) {
        scan = prepareScan(names);
        scans.set(shape, scan);
      }
      const params: Record<string, unknown> = {};
      for (const name of names) params[name] = query[name];
      // iterate() streams rows, so only the per-group latency arrays are held in memory.
      function* facts(): Generator<UsageFact> {
        for (const row of scan!.iterate(params)) yield factFromRow(row);
      }
      return summarize(facts(), query);
    },

    async lastServed(keyId, sessionId, requested) {
      return lastServed.get(sessionId, keyId, requested)?.model_served ?? null;
    },

    async count(): Promise<number> {
      return countRows.get()?.n ?? 0;
    },
  };
}
