/**
 * A Postgres with the pgvector extension for tests: PGlite (Postgres compiled to WASM,
 * in-process) with its `vector` extension, the real pgvector C code, served on a loopback
 * port by pglite-socket so the gateway's own `pg` pool talks to it over the wire protocol.
 * Used where the test Postgres (harness/postgresServer.ts, Debian's PostgreSQL without
 * pgvector) cannot run the SQL: the memory store's pgvector queries.
 */
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface PgliteServer {
  /** `postgres://…` on 127.0.0.1; any user and password are accepted. */
  url: string;
  stop(): Promise<void>;
}

export async function startPgliteServer(): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  // Several connections (the store's pool, its LISTEN connection) share the one PGlite
  // backend, statement by statement: fine for tests that do not race transactions.
  const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: 16 });
  await server.start();
  return {
    url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
