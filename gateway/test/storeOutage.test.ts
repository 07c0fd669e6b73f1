/** A gateway on Postgres when Postgres goes away: OpenAI-shaped 503s, cached keys keep working, not ready. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../harness/postgresServer.ts";
import { createGateway, type Gateway } from "../app.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import { createLogger } from "../logger.ts";
import { type Services, startServices } from "../services.ts";
import { tempDataDir } from "../store/testing.ts";

const ADMIN = "outage-admin-key-0123456789abcdef";
let postgres: PostgresServer;
let services: Services;
let gateway: Gateway;
let url: string;
let opsUrl: string;
const data = tempDataDir();

beforeAll(async () => {
  postgres = await startPostgresServer();
  const config = parseConfig(
    buildGatewayConfig({ models: [{ preset: "qwen3-32b", replicaUrls: ["http://127.0.0.1:9"] }] }),
  );
  const log = createLogger("silent");
  services = await startServices(
    config,
    {
      dataDir: data.dir,
      databaseUrl: await postgres.createDatabase(),
      redisUrl: undefined,
      adminKey: ADMIN,
      engineApiKey: undefined,
    },
    log,
  );
  gateway = createGateway({ config, log, probe: false, ...services.gatewayOptions(() => gateway.registry) });
  url = await gateway.listen(0, "127.0.0.1");
  opsUrl = await gateway.listenOps(0, "127.0.0.1");
});

afterAll(async () => {
  await gateway?.shutdown(200);
  await services?.close().catch(() => {});
  await postgres?.stop();
  data.remove();
});

describe("the database goes away under a gateway", () => {
  it("unknown keys and admin calls get 503 store_unavailable; a key in the cache keeps working; /readyz says why", async () => {
    const { secret } = await services.store.keys.create({ name: "cached", tier: "free" });
    const models = (key: string) =>
      fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect((await models(secret)).status).toBe(200); // now cached for 1 s
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    await postgres.stop();
    expect((await models(secret)).status).toBe(200);
    const unknown = await models("gk-never-seen-before-0123456789abcdef");
    expect(unknown.status).toBe(503);
    expect(unknown.headers.get("retry-after")).toBe("1");
    expect(((await unknown.json()) as { error: { code: string; type: string } }).error).toMatchObject({
      code: "store_unavailable",
      type: "service_unavailable",
    });
    const admin = await fetch(`${opsUrl}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(admin.status).toBe(503);
    expect(((await admin.json()) as { error: { code: string } }).error.code).toBe("store_unavailable");
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons.join()).toMatch(/store unreachable/);
  });
});
