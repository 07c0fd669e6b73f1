/**
 * UsageLedger over Postgres. All usage SQL lives here. A batch is one INSERT over arrays
 * (unnest), so importing a journal batch costs one round trip whatever its size; ON
 * CONFLICT (request_id) DO NOTHING makes a replayed row a no-op.
 */

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
import type { Query } from "./database.ts";

/** A scanned row with its id, the keyset pages' position. */
type FactRow = UsageFactRow & { id: number };

type FilterName = "from" | "to" | "keyId" | "model" | "requested" | "sessionId";

/** Each filter's SQL with a placeholder for its value; the same filters as sqliteUsage.ts. */
const FILTERS: ReadonlyArray<[FilterName, (p: string) => string]> = [
  ["from", (p) => `ts >= ${p}`],
  ["to", (p) => `ts < ${p}`],
  ["keyId", (p) => `key_id = ${p}`],
  ["model", (p) => `coalesce(model_served, model_requested) = ${p}`],
  ["requested", (p) => `model_requested = ${p}`],
  ["sessionId", (p) => `session_id = ${p}`],
];

/** Column, its array type for unnest, and how a row supplies it. */
const INSERT_COLUMNS: ReadonlyArray<[string, string, (r: UsageRow) => unknown]> = [
  ["request_id", "text", (r) => r.requestId],
  ["client_request_id", "text", (r) => r.clientRequestId ?? null],
  ["ts", "int8", (r) => r.ts],
  ["key_id", "text", (r) => r.keyId],
  ["tier", "text", (r) => r.tier],
  ["model_requested", "text", (r) => r.modelRequested],
  ["model_served", "text", (r) => r.modelServed],
  ["route", "text", (r) => r.route ?? null],
  ["replica", "text", (r) => r.replica],
  ["session_id", "text", (r) => r.sessionId],
  ["endpoint", "text", (r) => r.endpoint],
  ["prompt_tokens", "int4", (r) => r.promptTokens],
  ["completion_tokens", "int4", (r) => r.completionTokens],
  ["reasoning_tokens", "int4", (r) => r.reasoningTokens],
  ["cached_tokens", "int4", (r) => r.cachedTokens],
  ["ttft_ms", "float8", (r) => r.ttftMs],
  ["latency_ms", "float8", (r) => r.latencyMs],
  ["status", "int4", (r) => r.status],
  ["streamed", "bool", (r) => r.streamed],
  ["client_aborted", "bool", (r) => r.clientAborted],
  ["error_code", "text", (r) => r.errorCode],
];

const INSERT_SQL = `INSERT INTO usage_rows (${INSERT_COLUMNS.map(([c]) => c).join(", ")})
  SELECT * FROM unnest(${INSERT_COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(", ")})
  ON CONFLICT (request_id) DO NOTHING`;

/** Rows fetched per round trip by summary(), so no single result set is unbounded. */
const PAGE = 10_000;

export function createPostgresUsageLedger(run: Query): UsageLedger {
  async function recordMany(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    // The same request id twice in one statement would make ON CONFLICT fail ("cannot affect
    // row a second time"); the first occurrence wins, as it does across statements.
    const seen = new Set<string>();
    const unique = rows.filter((r) => !seen.has(r.requestId) && seen.add(r.requestId));
    await run(
      INSERT_SQL,
      INSERT_COLUMNS.map(([, , get]) => unique.map(get)),
    );
  }

  return {
    record: (row) => recordMany([row]),
    recordMany,

    async summary(query: UsageQuery): Promise<UsageSummaryRow[]> {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [name, sql] of FILTERS) {
        if (query[name] === undefined) continue;
        params.push(query[name]);
        where.push(sql(`$${params.length}`));
      }
      // Keyset pages by id: each page is an index range scan, and rows inserted meanwhile
      // land after the last id read (or are not seen), never twice.
      const facts: UsageFact[] = [];
      let after = 0;
      for (;;) {
        const conditions = [...where, `id > $${params.length + 1}`];
        const { rows } = await run<FactRow>(
          `SELECT id, ${FACT_COLUMNS} FROM usage_rows WHERE ${conditions.join(" AND ")} ORDER BY id LIMIT ${PAGE}`,
          [...params, after],
        );
        for (const row of rows) facts.push(factFromRow(row));
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1]!.id;
      }
      return summarize(facts, query);
    },

    async lastServed(keyId, sessionId, requested) {
      const { rows } = await run<{ model_served: string }>(
        `SELECT model_served FROM usage_rows
          WHERE session_id = $1 AND key_id IS NOT DISTINCT FROM $2 AND model_requested = $3
            AND status < 400 AND model_served IS NOT NULL
          ORDER BY ts DESC, id DESC LIMIT 1`,
        [sessionId, keyId, requested],
      );
      return rows[0]?.model_served ?? null;
    },

    async count(): Promise<number> {
      const { rows } = await run<{ n: number }>("SELECT count(*) AS n FROM usage_rows");
      return rows[0]?.n ?? 0;
    },
  };
}
