/**
 * The outbox survives the gateway: deliveries are rows in the store, so a gateway process
 * SIGKILLed between two attempts resumes the retry after a restart (same webhook-id), and
 * two gateway processes on one Postgres deliver each event exactly once. Events are emitted
 * through the same sink the gateway hands the async-jobs worker, here over a store opened by
 * the test on the same database (as a job worker in another process would).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../harness/postgresServer.ts";
import { type SpawnedGateway, spawnGateway } from "../../harness/spawnGateway.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { openStore, type Store } from "../store/index.ts";
import { eventPayload } from "./payload.ts";
import { createJobEventSink } from "./sink.ts";
import { jobEvent, startReceiver } from "./testing.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Json = any;

const dirs: string[] = [];
const gateways: SpawnedGateway[] = [];
let postgres: PostgresServer | undefined;
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await postgres?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function writeConfig(webhooks: Record<string, unknown>): { dir: string; configPath: string } {
  const dir = mkdtempSync(join(tmpdir(), "gonka-hooks-"));
  dirs.push(dir);
  // The model is required by the config; its (closed) loopback port only gets health probes.
  const base = buildGatewayConfig({ models: [{ preset: "kimi-k2.5", replicaUrls: ["http://127.0.0.1:9"] }] });
  const configPath = join(dir, "gateway.json");
  writeFileSync(configPath, JSON.stringify({ ...base, logLevel: "warn", webhooks }));
  return { dir, configPath };
}

async function start(configPath: string, env: NodeJS.ProcessEnv): Promise<SpawnedGateway> {
  const gw = await spawnGateway({ configPath, env: { GONKA_WEBHOOK_ALLOWLIST: "127.0.0.1/32", ...env } });
  gateways.push(gw);
  return gw;
}

const sinkOver = (store: Store) =>
  createJobEventSink({
    repo: store.webhooks,
    maxPayloadBytes: 256 * 1024,
    payload: eventPayload,
    onEnqueued() {},
  });

async function registerEndpoint(gw: SpawnedGateway, secret: string, url: string): Promise<Json> {
  const res = await fetch(`${gw.url}/v1/webhooks`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ url }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

describe("webhook delivery across gateway processes", () => {
  it("resumes a retry after the gateway is SIGKILLed between attempts (SQLite)", async () => {
    const { dir, configPath } = writeConfig({
      allowHttp: true,
      retryDelaysMs: [1_500],
      jitter: 0,
      pollIntervalMs: 50,
    });
    const env = { GONKA_DATA_DIR: join(dir, "data") };
    const receiver = await startReceiver();
    let gw = await start(configPath, env);
    const store = await openStore({ dataDir: join(dir, "data") });
    try {
      const { key, secret } = await store.keys.create({ name: "hooks", tier: "standard" });
      const endpoint = await registerEndpoint(gw, secret, `${receiver.origin}/hook`);
      receiver.script = [500];
      const event = jobEvent(key.id);
      await sinkOver(store).emit(event);
      await receiver.waitFor(1);
      // Between attempts: the failure is recorded and the retry scheduled (a kill during an
      // attempt would leave its lease to lapse first, timeout + 30 s later).
      const end = Date.now() + 5_000;
      while ((await store.webhooks.listDeliveries(key.id, endpoint.id, 1)).deliveries[0]?.attempts !== 1) {
        if (Date.now() > end) throw new Error("the failed attempt was never recorded");
        await new Promise((r) => setTimeout(r, 20));
      }
      gw.kill("SIGKILL");
      await gw.exited;
      // The retry was due 1.5 s after the failure: nobody sends it while no gateway runs.
      await new Promise((r) => setTimeout(r, 1_800));
      expect(receiver.hits).toHaveLength(1);
      gw = await start(configPath, env);
      const hits = await receiver.waitFor(2);
      expect(hits.map((h) => h.headers["webhook-id"])).toEqual([event.id, event.id]);
      const res = await fetch(`${gw.url}/v1/webhooks/${endpoint.id}/deliveries`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      const [logged] = ((await res.json()) as Json).data;
      expect(logged.status).toBe("succeeded");
      expect(logged.attempt_log.map((a: Json) => a.status_code)).toEqual([500, 200]);
    } finally {
      await store.close();
      await receiver.close();
    }
  }, 60_000);

  it("two gateways on one Postgres deliver each of 20 events exactly once", async () => {
    postgres = await startPostgresServer();
    const databaseUrl = await postgres.createDatabase();
    const { dir, configPath } = writeConfig({ allowHttp: true, pollIntervalMs: 20, concurrency: 4 });
    const [a, b] = await Promise.all(
      ["a", "b"].map((n) =>
        start(configPath, { GONKA_DATA_DIR: join(dir, n), GONKA_DATABASE_URL: databaseUrl }),
      ),
    );
    const receiver = await startReceiver();
    receiver.delayMs = 30;
    const store = await openStore({ dataDir: join(dir, "test"), databaseUrl });
    try {
      const { key, secret } = await store.keys.create({ name: "hooks", tier: "standard" });
      await registerEndpoint(a!, secret, `${receiver.origin}/hook`);
      const sink = sinkOver(store);
      const events = Array.from({ length: 20 }, () => jobEvent(key.id));
      await Promise.all(events.map((e) => sink.emit(e)));
      await receiver.waitFor(20, 20_000);
      await new Promise((r) => setTimeout(r, 500)); // any duplicate would arrive meanwhile
      const ids = receiver.hits.map((h) => h.headers["webhook-id"]);
      expect(ids).toHaveLength(20);
      expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
      let attempts = 0;
      for (const gw of [a!, b!]) {
        const metrics = await (await fetch(`${gw.opsUrl}/metrics`)).text();
        attempts += Number(/gonka_webhook_attempts_total\{result="success"\} (\d+)/.exec(metrics)![1]);
      }
      expect(attempts).toBe(20);
      expect(await store.webhooks.pendingCount()).toBe(0);
    } finally {
      await store.close();
      await receiver.close();
    }
  }, 120_000);
});
