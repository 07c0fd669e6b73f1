/** Test fixture: an in-process gateway with the admin API over a real SQLite file; no backend. */
import { vi } from "vitest";
import { createGateway, type Gateway } from "../app.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import { createLogger } from "../logger.ts";
import { modelHealth } from "../routes/health.ts";
import { createKeyCache, type KeyCache, openStore, type Store } from "../store/index.ts";
import { tempDataDir } from "../store/testing.ts";
import { mountAdminRoutes } from "./index.ts";

export const ADMIN_KEY = "test-admin-key-0123456789abcdefghij";

export interface AdminFixture {
  /** The operational listener, where the admin API is. */
  url: string;
  gateway: Gateway;
  store: Store;
  /** A real cache (long TTL, so only invalidation can refresh it) with a spy on invalidate. */
  keyCache: KeyCache;
  invalidate: ReturnType<typeof vi.fn<(keyId: string) => void>>;
  /** fetch against the gateway with the admin token (or `token`, or none when null). */
  call(method: string, path: string, opts?: { body?: unknown; token?: string | null }): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  json: any;
}

export async function startAdminFixture(): Promise<AdminFixture> {
  const data = tempDataDir();
  const store = await openStore({ dataDir: data.dir });
  const keyCache = createKeyCache(store.keys, { ttlMs: 60_000 });
  const invalidate = vi.fn((keyId: string) => keyCache.invalidate(keyId));
  const config = parseConfig(
    buildGatewayConfig({ models: [{ preset: "qwen3-32b", replicaUrls: ["http://127.0.0.1:9"] }] }),
  );
  let gateway: Gateway | undefined;
  gateway = createGateway({
    config,
    log: createLogger("silent"),
    probe: false,
    mount: (router) =>
      mountAdminRoutes(router, {
        adminKey: ADMIN_KEY,
        store,
        keyCache: { invalidate },
        tiers: config.tiers,
        modelNames: new Set(config.models.flatMap((m) => [m.id, ...m.aliases])),
        modelStatus: () => modelHealth(gateway!.registry, { details: true }),
      }),
  });
  await gateway.listen(0, "127.0.0.1");
  const url = await gateway.listenOps(0, "127.0.0.1");
  return {
    url,
    gateway,
    store,
    keyCache,
    invalidate,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      const token = opts.token === undefined ? ADMIN_KEY : opts.token;
      if (token !== null) headers["authorization"] = `Bearer ${token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers["content-type"] = "application/json";
        body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      }
      const res = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    async close() {
      await gateway!.shutdown(500);
      await store.close();
      data.remove();
    },
  };
}
