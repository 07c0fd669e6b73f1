import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../../harness/postgresServer.ts";
import { openStore } from "../index.ts";
import { tempDataDir } from "../testing.ts";
import { listenForKeyChanges } from "./keyNotifications.ts";
import { KEY_CHANNEL } from "./postgresKeys.ts";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(() => server?.stop());

describe("key change notifications (Postgres LISTEN/NOTIFY)", () => {
  it("after the listening connection is killed: reconnects, says `null` (drop everything), and hears changes again", async () => {
    const url = await server.createDatabase();
    const data = tempDataDir();
    const store = await openStore({ dataDir: data.dir, databaseUrl: url });
    const notices = listenForKeyChanges(url);
    const heard: (string | null)[] = [];
    notices.subscribe((id) => heard.push(id));
    await notices.ready;
    const { key } = await store.keys.create({ name: "a", tier: "free" });
    await store.keys.update(key.id, { tier: "standard" });
    await expect.poll(() => heard).toEqual([key.id]);

    // Kill every backend that LISTENs (ours and the store's own), as a failover or a network cut would.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE $1`,
      [`LISTEN ${KEY_CHANNEL}%`],
    );
    await admin.end();
    await expect.poll(() => heard.includes(null), { timeout: 10_000 }).toBe(true);
    await store.keys.revoke(key.id);
    await expect.poll(() => heard.at(-1), { timeout: 5_000 }).toBe(key.id);

    await notices.close();
    await store.close();
    data.remove();
  });
});
