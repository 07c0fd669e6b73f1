/**
 * Connecting to Postgres: a small pool for the store, and the migrations, applied at
 * start under a session advisory lock so that replicas starting together apply each one
 * exactly once (the others wait on the lock, then find it recorded).
 */
import pg from "pg";
import { StoreUnavailable } from "../errors.ts";
import { assertSchemaKnown, type Migration } from "../migrations.ts";
import { postgresMigrations } from "./migrations.ts";

/** Any fixed number shared by every gateway: the advisory lock that serialises migrations. */
const MIGRATION_LOCK = 7_264_110_411;

/** BIGINT columns hold ms timestamps and counts, all safe integers: read them as numbers, not strings. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export interface OpenPostgresOptions {
  url: string;
  /** Connections in the pool (admin queries and batched usage imports; not per request). */
  max?: number;
  migrations?: readonly Migration[];
}

/** `postgres://user:***@host:port/db`, for logs. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

export function newClient(url: string): pg.Client {
  return new pg.Client({ connectionString: url, types });
}

export async function openPostgres(opts: OpenPostgresOptions): Promise<{ pool: pg.Pool; applied: number[] }> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.max ?? 5, types });
  // An idle client that loses its connection emits on the pool; without a listener that is a crash.
  pool.on("error", () => {});
  try {
    const applied = await runMigrations(pool, opts.migrations ?? postgresMigrations, redactedUrl(opts.url));
    return { pool, applied };
  } catch (err) {
    await pool.end();
    throw err;
  }
}

/**
 * Applies every migration not yet recorded, each in its own transaction, holding the
 * advisory lock for the whole run. Throws SchemaTooNew, before changing anything, when a
 * newer gateway has migrated the database. Returns the versions this call applied.
 */
export async function runMigrations(
  pool: pg.Pool,
  migrations: readonly Migration[],
  location = "(postgres)",
): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`);
      const { rows } = await client.query<{ v: number | null }>(
        "SELECT max(version) AS v FROM schema_migrations",
      );
      assertSchemaKnown(location, rows[0]?.v ?? 0, migrations);
      const done = new Set(
        (await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map(
          (r) => r.version,
        ),
      );
      const applied: number[] = [];
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(migration.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(migration.sql);
          await client.query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            [migration.version, migration.name, Date.now()],
          );
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK");
          throw err;
        }
        applied.push(migration.version);
      }
      return applied;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

/** One query on the pool; the repositories see nothing else of pg. */
export type Query = <R extends pg.QueryResultRow>(
  sql: string,
  params?: unknown[],
) => Promise<pg.QueryResult<R>>;

/** Connection-level failures: socket errors, SQLSTATE class 08, and the server shutting down (57P0x). */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === "string") {
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE)$/.test(e.code)) return true;
    if (/^08|^57P0[1-3]$/.test(e.code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end/.test(
    e?.message ?? "",
  );
}

function unavailable(err: unknown): unknown {
  if (!isUnavailable(err)) return err;
  return new StoreUnavailable(
    "store_unavailable",
    null,
    `The gateway's database cannot be reached right now (${(err as Error).message}); retry shortly.`,
  );
}

/** Runs queries on the pool; a database that cannot be reached becomes StoreUnavailable (a 503, not a 500). */
export function queryOn(pool: pg.Pool): Query {
  return async <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) => {
    try {
      return await pool.query<R>(sql, params);
    } catch (err) {
      throw unavailable(err);
    }
  };
}

/** Runs `fn` in one transaction on one pooled connection (committed unless it throws). */
export type Transaction = <T>(fn: (query: Query) => Promise<T>) => Promise<T>;

export function transactionOn(pool: pg.Pool): Transaction {
  return async (fn) => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    const query: Query = async (sql, params) => {
      try {
        return await client.query(sql, params);
      } catch (err) {
        throw unavailable(err);
      }
    };
    try {
      await query("BEGIN");
      const result = await fn(query);
      await query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };
}
