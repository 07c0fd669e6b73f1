/**
 * Two gateway processes on one Postgres and one Redis, each with its own data folder (as
 * two pods): keys, limits and usage behave as one gateway. Issue 11's acceptance test.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../harness/postgresServer.ts";
import { type RedisServer, startRedisServer } from "../../harness/redisServer.ts";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { spawnGateway } from "../../harness/spawnGateway.ts";
import { parseConfig } from "../config/load.ts";
import { createLogger } from "../logger.ts";
import { serviceEnv, startServices } from "../services.ts";
import { openStore } from "../store/index.ts";
import { post } from "./fixtures.ts";
import { until } from "./poll.ts";
import { ADMIN_KEY, type ProcessFixture, startProcessFixture } from "./processFixture.ts";

let postgres: PostgresServer;
let redis: RedisServer;
let databaseUrl: string;
let fx: ProcessFixture;
let a: SpawnedGateway;
let b: SpawnedGateway;
const chat = { model: "qwen3-32b", max_tokens: 4, messages: [{ role: "user", content: "hi" }] };
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** Gateway "A" or "B": its own data folder (journals), the shared database and Redis. */
const replica = (name: string) =>
  fx.startGateway({
    GONKA_DATA_DIR: join(fx.dir, `data-${name}`),
    GONKA_DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
  });

async function admin(gw: SpawnedGateway, method: string, path: string) {
  const res = await fetch(`${gw.opsUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  expect(res.status, `${method} ${path}`).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function status(gw: SpawnedGateway, secret: string): Promise<number> {
  const res = await post(`${gw.url}/v1/chat/completions`, chat, bearer(secret));
  await res.text();
  return res.status;
}

async function usageIds(): Promise<{ requestId: string; status: number; keyId: string }[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ request_id: string; status: number; key_id: string }>(
      "SELECT request_id, status, key_id FROM usage_rows",
    );
    return rows.map((r) => ({ requestId: r.request_id, status: r.status, keyId: r.key_id }));
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
  databaseUrl = await postgres.createDatabase("gateway");
  fx = await startProcessFixture({
    preset: "qwen3-32b",
    config: (c) => ({
      ...c,
      tiers: {
        small: { requestsPerMinute: 10, tokensPerMinute: 1_000_000, concurrentRequests: 1_000 },
        bulk: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000, concurrentRequests: 100 },
      },
    }),
  });
  // Started together: both apply migrations at once on the empty database (one waits on the lock).
  [a, b] = await Promise.all([replica("a"), replica("b")]);
}, 60_000);

afterAll(async () => {
  await fx?.close();
  await Promise.all([postgres?.stop(), redis?.stop()]);
});

describe("two gateway replicas on one Postgres and one Redis", () => {
  it("a key created through A's admin API works on B at once", async () => {
    const { secret } = await fx.createKey(a, { name: "shared", tier: "bulk" });
    expect(await status(b, secret)).toBe(200);
    expect(await status(a, secret)).toBe(200);
  });

  /**
   * Asks B (auth only: `/v1/models`, no backend) back to back until it refuses `secret`.
   * Returns when, after `since`, the last request B still accepted had been sent: B
   * accepting a request sent later than `since + 100 ms` means the change took longer to
   * arrive. (Measured from when requests are sent, not answered, so a loaded machine's
   * slow responses do not count against the propagation.)
   */
  async function lastAcceptedAfter(gw: SpawnedGateway, secret: string, since: number): Promise<number> {
    let lastAccepted = since;
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const sentAt = Date.now();
      const res = await fetch(`${gw.url}/v1/models`, { headers: bearer(secret) });
      await res.text();
      if (res.status === 401) return lastAccepted - since;
      expect(res.status).toBe(200);
      lastAccepted = sentAt;
    }
    throw new Error("B still accepts the key 5 s after the change");
  }

  it("a key revoked on A is refused on B within 100 ms (B had it cached), and rotate likewise", async () => {
    const revokedKey = await fx.createKey(a, { name: "to-revoke", tier: "bulk" });
    expect(await status(b, revokedKey.secret)).toBe(200); // now in B's cache (1 s TTL)
    await admin(a, "POST", `/admin/keys/${revokedKey.id}/revoke`);
    expect(await lastAcceptedAfter(b, revokedKey.secret, Date.now())).toBeLessThan(100);

    const rotatedKey = await fx.createKey(a, { name: "to-rotate", tier: "bulk" });
    expect(await status(b, rotatedKey.secret)).toBe(200);
    const rotated = await admin(a, "POST", `/admin/keys/${rotatedKey.id}/rotate`);
    expect(await lastAcceptedAfter(b, rotatedKey.secret, Date.now())).toBeLessThan(100);
    expect(await status(b, rotated["secret"] as string)).toBe(200);
  });

  it("a burst of 50 on a 10-request limit admits exactly 10 across both", async () => {
    const { secret } = await fx.createKey(b, { name: "burst", tier: "small" });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post(`${(i % 2 ? a : b).url}/v1/chat/completions`, chat, bearer(secret)),
      ),
    );
    await Promise.all(responses.map((r) => r.text()));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(40);
  });

  it("SIGKILL of A under load: every 200 from either side has exactly one usage row; A and B report the same totals", async () => {
    const { id: keyId, secret } = await fx.createKey(a, { name: "crash", tier: "bulk" });
    const completed: string[] = [];
    let inFlight = 0;
    let stop = false;
    const worker = async (i: number) => {
      while (!stop) {
        const gw = i % 2 === 0 ? a : b;
        const body = { ...chat, stream: i % 4 < 2, messages: [{ role: "user", content: `n${i}` }] };
        inFlight += 1;
        try {
          const res = await post(`${gw.url}/v1/chat/completions`, body, bearer(secret));
          const text = await res.text();
          const complete = body.stream ? text.trimEnd().endsWith("data: [DONE]") : text.endsWith("}");
          if (res.status === 200 && complete) completed.push(res.headers.get("x-request-id")!);
        } catch {
          // The connection died with A: this response did not complete.
          if (gw === a) await new Promise((r) => setTimeout(r, 5));
        } finally {
          inFlight -= 1;
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => worker(i));
    await until(() => completed.length >= 200, "load under way", { timeoutMs: 20_000 });
    a.kill("SIGKILL");
    await a.exited;
    const inFlightAtKill = inFlight;
    await new Promise((r) => setTimeout(r, 200)); // B keeps serving meanwhile
    stop = true;
    await Promise.all(workers);
    expect(completed.length).toBeGreaterThan(100);

    // A's replacement starts on A's data folder and replays what A journaled into Postgres.
    a = await replica("a");
    const ok = new Set<string>();
    await until(
      async () => {
        const rows = await usageIds();
        ok.clear();
        for (const r of rows) if (r.status === 200 && r.keyId === keyId) ok.add(r.requestId);
        return completed.every((id) => ok.has(id));
      },
      "every completed response has its usage row",
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const rows = await usageIds();
    expect(new Set(rows.map((r) => r.requestId)).size).toBe(rows.length);
    // A row may exist for a response the kill cut off on the wire (written just before its
    // last bytes); never more than were in flight at A when it died.
    expect(ok.size - completed.length).toBeGreaterThanOrEqual(0);
    expect(ok.size - completed.length).toBeLessThanOrEqual(inFlightAtKill);

    // Both replicas answer the admin usage API from the same ledger (each flushes its own journal first).
    const totals = async (gw: SpawnedGateway) => {
      const usage = await admin(gw, "GET", `/admin/usage?group_by=key&key_id=${keyId}`);
      return (usage["data"] as { requests: number; totalTokens?: number; total_tokens?: number }[])[0];
    };
    const rowsForKey = rows.filter((r) => r.keyId === keyId).length;
    await until(async () => (await totals(b))?.requests === rowsForKey, "B's totals settle", {
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    expect(await totals(a)).toEqual(await totals(b));
  });
});

describe("choosing and guarding the database", () => {
  it("takes the URL from the config's database.url; GONKA_DATABASE_URL wins over it", async () => {
    const base = JSON.parse(readFileSync(fx.configPath, "utf8")) as Record<string, unknown>;
    const config = parseConfig({ ...base, database: { url: databaseUrl } });
    const log = createLogger("silent");
    const fromFile = await startServices(
      config,
      serviceEnv({ GONKA_DATA_DIR: join(fx.dir, "data-file") }),
      log,
    );
    expect(fromFile.store.dialect).toBe("postgres");
    await fromFile.close();
    const wrong = "postgres://postgres@127.0.0.1:1/nowhere";
    const env = serviceEnv({ GONKA_DATA_DIR: join(fx.dir, "data-env"), GONKA_DATABASE_URL: wrong });
    await expect(startServices(config, env, log)).rejects.toThrow(/ECONNREFUSED|connect/);
    const sqlite = await startServices(
      parseConfig(base),
      serviceEnv({ GONKA_DATA_DIR: join(fx.dir, "data-sqlite") }),
      log,
    );
    expect(sqlite.store.dialect).toBe("sqlite");
    await sqlite.close();
  });

  it("a gateway refuses to start on a schema newer than it knows, saying so", async () => {
    const url = await postgres.createDatabase("from_the_future");
    const store = await openStore({ dataDir: join(fx.dir, "data-future"), databaseUrl: url });
    await store.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
    await client.end();
    const started = spawnGateway({
      configPath: fx.configPath,
      env: {
        GONKA_DATA_DIR: join(fx.dir, "data-future"),
        GONKA_DATABASE_URL: url,
        GONKA_ADMIN_KEY: ADMIN_KEY,
      },
    });
    const err = (await started.then(
      async (gw) => {
        await gw.stop();
        return undefined;
      },
      (e: unknown) => e,
    )) as Error | undefined;
    expect(err?.message).toMatch(/exited with 1/);
    expect(err?.message).toMatch(/schema version 999, newer than this gateway knows/);
  });
});
