/**
 * MemoryRepository over Postgres with pgvector. Search is one query: the filter in the
 * WHERE clause (jsonb containment, so it applies before the LIMIT) and `ORDER BY embedding
 * <=> query`, pgvector's cosine distance, exact over the key's namespace (no ANN index: an
 * HNSW index would filter after its candidate list, and dropping matches is what filters
 * before top-k must not do). A put runs in a transaction holding an advisory lock on the
 * namespace, so two replicas cannot both take the last slot of a quota.
 */
import type pg from "pg";
import type { MemoryFilter } from "../../memory/filter.ts";
import type { MemoryItem, MemoryRepository } from "../../memory/types.ts";
import { QuotaExceeded, StoreUnavailable } from "../errors.ts";
import { isUnavailable } from "./database.ts";
import { MEMORY_TABLES } from "./migrations.ts";

interface ItemRow {
  id: number;
  namespace: string;
  item_key: string;
  value: string;
  metadata: Record<string, unknown>;
  embedding: string;
  embedding_model: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  score?: number;
}

const COLUMNS =
  "id, namespace, item_key, value, metadata, embedding::text AS embedding, embedding_model, created_at, updated_at, expires_at";
const LIVE = (p: string) => `(expires_at IS NULL OR expires_at > ${p})`;

/** pgvector's text form: `[0.1,0.2,…]`. */
const vectorLiteral = (v: Float32Array) => `[${Array.from(v).join(",")}]`;

function toItem(r: ItemRow): MemoryItem {
  return {
    namespace: r.namespace,
    key: r.item_key,
    value: r.value,
    metadata: r.metadata,
    embedding: Float32Array.from(JSON.parse(r.embedding) as number[]),
    embeddingModel: r.embedding_model,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
  };
}

/** The filter as SQL over `metadata`, its parameters numbered from `first`. */
export function filterSql(filter: MemoryFilter, first: number): { sql: string; params: string[] } {
  const params: string[] = [];
  const clauses = filter.map(({ field, anyOf }) => {
    const alternatives = anyOf.map((v) => {
      params.push(JSON.stringify({ [field]: v }));
      return `metadata @> $${first + params.length - 1}::jsonb`;
    });
    return `(${alternatives.join(" OR ")})`;
  });
  return { sql: clauses.length ? ` AND ${clauses.join(" AND ")}` : "", params };
}

async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isUnavailable(err)) throw err;
    throw new StoreUnavailable(
      "store_unavailable",
      null,
      `The gateway's database cannot be reached right now (${(err as Error).message}); retry shortly.`,
    );
  }
}

/**
 * True when the memory tables exist, creating them first when migration 5 found no pgvector
 * but an operator has created the extension since.
 */
async function ensureMemoryTables(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ table: string | null; vector: boolean }>(
    "SELECT to_regclass('memory_items')::text AS table, EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS vector",
  );
  if (rows[0]?.table) return true;
  if (!rows[0]?.vector) return false;
  await pool.query(MEMORY_TABLES);
  return true;
}

/** Undefined when the database has no memory tables (pgvector was not available at migration). */
export async function createPostgresMemoryRepository(pool: pg.Pool): Promise<MemoryRepository | undefined> {
  if (!(await ensureMemoryTables(pool))) return undefined;
  const query = <R extends pg.QueryResultRow>(sql: string, params: unknown[]) =>
    run(() => pool.query<R>(sql, params));

  return {
    async get(keyId, namespace, key, now) {
      const { rows } = await query<ItemRow>(
        `SELECT ${COLUMNS} FROM memory_items WHERE key_id = $1 AND namespace = $2 AND item_key = $3 AND ${LIVE("$4")}`,
        [keyId, namespace, key, now],
      );
      return rows[0] ? toItem(rows[0]) : undefined;
    },

    put(p) {
      return run(async () => {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
            JSON.stringify(["memory", p.keyId, p.namespace]),
          ]);
          const existing = await client.query<{ live: boolean }>(
            `SELECT ${LIVE("$4")} AS live FROM memory_items WHERE key_id = $1 AND namespace = $2 AND item_key = $3`,
            [p.keyId, p.namespace, p.key, p.now],
          );
          const live = existing.rows[0]?.live === true;
          if (!live) {
            const count = await client.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM memory_items WHERE key_id = $1 AND namespace = $2 AND ${LIVE("$3")}`,
              [p.keyId, p.namespace, p.now],
            );
            if (count.rows[0]!.n >= p.maxItems) {
              throw QuotaExceeded.namespaceFull(p.namespace, p.maxItems);
            }
          }
          const { rows } = await client.query<ItemRow>(
            `INSERT INTO memory_items (key_id, namespace, item_key, value, metadata, embedding, embedding_model,
               created_at, updated_at, expires_at)
             VALUES ($1, $2, $3, $4, $5::jsonb, $6::vector, $7, $8, $8, $9)
             ON CONFLICT (key_id, namespace, item_key) DO UPDATE SET
               value = excluded.value, metadata = excluded.metadata, embedding = excluded.embedding,
               embedding_model = excluded.embedding_model, updated_at = excluded.updated_at,
               expires_at = excluded.expires_at,
               created_at = CASE WHEN $10 THEN memory_items.created_at ELSE excluded.created_at END
             RETURNING ${COLUMNS}`,
            [
              p.keyId,
              p.namespace,
              p.key,
              p.value,
              JSON.stringify(p.metadata),
              vectorLiteral(p.embedding),
              p.embeddingModel,
              p.now,
              p.expiresAt,
              live,
            ],
          );
          await client.query("COMMIT");
          return { created: !live, item: toItem(rows[0]!) };
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          throw err;
        } finally {
          client.release();
        }
      });
    },

    async count(keyId, namespace, now) {
      const { rows } = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM memory_items WHERE key_id = $1 AND namespace = $2 AND ${LIVE("$3")}`,
        [keyId, namespace, now],
      );
      return rows[0]!.n;
    },

    async delete(keyId, namespace, key, now) {
      const { rows } = await query<{ live: boolean }>(
        `DELETE FROM memory_items WHERE key_id = $1 AND namespace = $2 AND item_key = $3 RETURNING ${LIVE("$4")} AS live`,
        [keyId, namespace, key, now],
      );
      return rows[0]?.live === true;
    },

    async list(keyId, namespace, { after, limit, now }) {
      const { rows } = await query<ItemRow>(
        `SELECT ${COLUMNS} FROM memory_items
         WHERE key_id = $1 AND namespace = $2 AND item_key COLLATE "C" > $3 AND ${LIVE("$4")}
         ORDER BY item_key COLLATE "C" LIMIT $5`,
        [keyId, namespace, after ?? "", now, limit + 1],
      );
      const more = rows.length > limit;
      const items = rows.slice(0, limit).map(toItem);
      return { items, nextCursor: more ? items[items.length - 1]!.key : null };
    },

    async search({ keyId, namespace, query: q, topK, filter, now }) {
      const where = filterSql(filter, 6);
      const { rows } = await query<ItemRow>(
        `SELECT ${COLUMNS}, 1 - (embedding <=> $3::vector) AS score FROM memory_items
         WHERE key_id = $1 AND namespace = $2 AND ${LIVE("$4")}${where.sql}
         ORDER BY embedding <=> $3::vector LIMIT $5`,
        [keyId, namespace, vectorLiteral(q), now, topK, ...where.params],
      );
      return rows.map((r) => ({ item: toItem(r), score: Number(r.score) }));
    },

    async sweepExpired(now, batch) {
      // SKIP LOCKED: replicas sweeping at once take different rows instead of waiting on each other.
      const { rowCount } = await query(
        `DELETE FROM memory_items WHERE id IN (
           SELECT id FROM memory_items WHERE expires_at IS NOT NULL AND expires_at <= $1
           LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [now, batch],
      );
      return rowCount ?? 0;
    },
  };
}
