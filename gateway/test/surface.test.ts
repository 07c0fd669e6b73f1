/**
 * The public surface of a gateway process: `/v1` behind keys (models too), nothing
 * operational on the API listener, the body read only after the key is known, and
 * readiness that is about the gateway itself.
 */
import { request as httpRequest } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { createGateway } from "../app.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import { createLogger } from "../logger.ts";
import { startServices } from "../services.ts";
import { tempDataDir } from "../store/testing.ts";
import { ADMIN_KEY, type ProcessFixture, startProcessFixture } from "./processFixture.ts";

let fx: ProcessFixture;
let gw: SpawnedGateway;
let secret: string;

beforeAll(async () => {
  fx = await startProcessFixture({ preset: "qwen3-32b" });
  gw = await fx.startGateway();
  ({ secret } = await fx.createKey(gw, { name: "surface", tier: "standard" }));
});
afterAll(() => fx?.close());

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });
async function errorCode(res: Response): Promise<string | null> {
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await res.json()) as { error: { code: string | null } };
  return body.error.code;
}

describe("GET /v1/models needs a valid key", () => {
  it("401 without a key or with a wrong one, 200 with a valid one", async () => {
    for (const path of ["/v1/models", "/v1/models/qwen3-32b"]) {
      const wrong = { authorization: "Bearer gk-wrong-000000000000000000000000" };
      for (const headers of [{}, wrong] as Record<string, string>[]) {
        const res = await get(`${gw.url}${path}`, headers);
        expect(res.status, path).toBe(401);
        expect(await errorCode(res)).toBe("invalid_api_key");
      }
      expect((await get(`${gw.url}${path}`, { authorization: `Bearer ${secret}` })).status).toBe(200);
    }
  });

  it("makes models.list() raise AuthenticationError in the openai client for a bad key", async () => {
    const bad = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "gk-wrong", maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const good = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    expect((await good.models.list()).data.map((m) => m.id)).toEqual(["qwen3-32b"]);
  });
});

describe("the operational listener", () => {
  it("is a separate port; the API listener answers 404 for every operational route", async () => {
    expect(new URL(gw.opsUrl).port).not.toBe(new URL(gw.url).port);
    expect(new URL(gw.opsUrl).hostname).toBe("127.0.0.1");
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    for (const path of ["/metrics", "/health/models", "/gonka/info", "/admin/keys", "/admin/usage"]) {
      const res = await get(`${gw.url}${path}`, admin);
      expect(res.status, path).toBe(404);
      expect(await errorCode(res)).toBe("unknown_url");
      expect((await get(`${gw.opsUrl}${path}`, admin)).status, path).toBe(200);
    }
  });

  it("still wants the admin key for /admin, and serves /healthz and /readyz on both listeners", async () => {
    expect((await get(`${gw.opsUrl}/admin/keys`)).status).toBe(401);
    for (const base of [gw.url, gw.opsUrl]) {
      expect((await get(`${base}/healthz`)).status).toBe(200);
      expect((await get(`${base}/readyz`)).status).toBe(200);
    }
  });

  it("does not serve /v1 routes", async () => {
    const res = await get(`${gw.opsUrl}/v1/models`, { authorization: `Bearer ${secret}` });
    expect(res.status).toBe(404);
  });
});

describe("authentication comes before the body", () => {
  it("answers a keyless request 401 while its (large) body is still being sent", async () => {
    const { port } = new URL(gw.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/chat/completions",
        headers: { "content-type": "application/json", "content-length": String(8 * 1024 * 1024 - 1) },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", (err) => reject(err));
      // Only the first 64 KiB of the announced 8 MiB ever leave: the answer must not wait for the rest.
      req.write(Buffer.alloc(64 * 1024, 0x20));
      setTimeout(() => reject(new Error("no answer before the body was complete")), 5_000).unref();
    });
    expect(status).toBe(401);
  });
});

describe("readiness is about the gateway itself", () => {
  it("/readyz is 503 naming the store when the store cannot be read", async () => {
    const { services, url, close } = await inProcessGateway();
    try {
      await services.store.close();
      const res = await get(`${url}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { reasons: string[] }).reasons.join()).toMatch(/store unreachable/);
    } finally {
      await close();
    }
  });
});

/** A gateway in this process over real services (SQLite in a temp folder), no backend. */
async function inProcessGateway() {
  const data = tempDataDir();
  const config = parseConfig(
    buildGatewayConfig({ models: [{ preset: "qwen3-32b", replicaUrls: ["http://127.0.0.1:9"] }] }),
  );
  const log = createLogger("silent");
  const services = await startServices(
    config,
    {
      dataDir: data.dir,
      databaseUrl: undefined,
      redisUrl: undefined,
      adminKey: undefined,
      engineApiKey: undefined,
    },
    log,
  );
  const gateway = createGateway({
    config,
    log,
    probe: false,
    ...services.gatewayOptions(() => gateway.registry),
  });
  const url = await gateway.listen(0, "127.0.0.1");
  return {
    gateway,
    services,
    url,
    async close() {
      await gateway.shutdown(200);
      await services.close().catch(() => {});
      data.remove();
    },
  };
}
