/**
 * The store's test seam: one description per dialect, so the same contract tests
 * (`describe.each(dialects)`) run against SQLite and a real Postgres. Each test gets a
 * fresh database: a temp folder for SQLite, a new database on one Postgres server per
 * test file (harness/postgresServer.ts) for Postgres.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, afterEach, beforeEach } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../harness/postgresServer.ts";
import { openStore, type Store } from "./index.ts";
import { tempDataDir } from "./testing.ts";

/** Where one test's database lives: what a gateway process would be given. */
export interface TestDatabase {
  dataDir: string;
  databaseUrl: string | undefined;
  /** Opens a store on it (each call a new connection, like another process would). */
  open(): Promise<Store>;
  /** Runs SQL directly, outside the store: `?` placeholders on both dialects. */
  sql(query: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  remove(): Promise<void>;
}

export interface Dialect {
  name: "sqlite" | "postgres";
  database(): Promise<TestDatabase>;
}

let server: Promise<PostgresServer> | undefined;
afterAll(async () => {
  if (server) await (await server).stop();
  server = undefined;
});

function postgresServer(): Promise<PostgresServer> {
  server ??= startPostgresServer();
  return server;
}

const sqlite: Dialect = {
  name: "sqlite",
  async database() {
    const data = tempDataDir();
    return {
      dataDir: data.dir,
      databaseUrl: undefined,
      open: () => openStore({ dataDir: data.dir }),
      async sql(query, params = []) {
        const db = new Database(`${data.dir}/gateway.sqlite`);
        try {
          const stmt = db.prepare(query);
          if (stmt.reader) return stmt.all(...params) as Record<string, unknown>[];
          stmt.run(...params);
          return [];
        } finally {
          db.close();
        }
      },
      async remove() {
        data.remove();
      },
    };
  },
};

const postgres: Dialect = {
  name: "postgres",
  async database() {
    const url = await (await postgresServer()).createDatabase();
    const data = tempDataDir(); // the journals' folder still exists with Postgres
    return {
      dataDir: data.dir,
      databaseUrl: url,
      open: () => openStore({ dataDir: data.dir, databaseUrl: url }),
      async sql(query, params = []) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          let i = 0;
          const { rows } = await client.query(
            query.replace(/\?/g, () => `$${++i}`),
            params,
          );
          return rows as Record<string, unknown>[];
        } finally {
          await client.end();
        }
      },
      async remove() {
        data.remove();
      },
    };
  },
};

export const dialects: readonly Dialect[] = [sqlite, postgres];

/**
 * A fresh database and a store open on it for each test of the calling `describe` block; both
 * closed and removed after it. A test may replace `store` (reopening it): that one is closed.
 */
export function storePerTest(dialect: Dialect): { db: TestDatabase; store: Store } {
  const t = {} as { db: TestDatabase; store: Store };
  beforeEach(async () => {
    t.db = await dialect.database();
    t.store = await t.db.open();
  });
  afterEach(async () => {
    await t.store.close();
    await t.db.remove();
  });
  return t;
}
