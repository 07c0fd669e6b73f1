import { readFileSync } from "node:fs";
import type Router from "@koa/router";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import type { RouterConfig } from "../tiering/schema.ts";

/** Gateway extensions a client or test suite can rely on; discovered, not assumed. */
export interface Features {
  api_keys: boolean;
  rate_limits: boolean;
  admin: boolean;
  sessions: boolean;
  memory: boolean;
  async_jobs: boolean;
  webhooks: boolean;
  tiering: boolean;
}

export const GATEWAY_VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** `GET /gonka/info`: version, features and the engines behind each model (for reports). */
export function mountInfoRoute(
  router: Router,
  registry: ModelRegistry,
  features: Features,
  routers: readonly RouterConfig[] = [],
): void {
  router.get("/gonka/info", (ctx) => {
    ctx.body = {
      object: "gonka.info",
      version: GATEWAY_VERSION,
      features,
      // Router aliases (tiering): what a client may send as `model` besides the models below.
      routers: routers.map((r) => ({
        alias: r.alias,
        rules: r.rules.map((rule) => rule.name),
        default: r.default.model,
      })),
      models: registry.pools.map((p) => ({
        id: p.model.id,
        engine: p.model.engine,
        backend_versions: [
          ...new Set(p.replicas.map((r) => r.version).filter((v): v is string => v !== null)),
        ],
      })),
    };
  });
}
