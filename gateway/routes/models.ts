import type Router from "@koa/router";
import type { Middleware } from "koa";
import { errors } from "../errors.ts";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import type { ModelPool } from "../routing/replicaPool.ts";
import type { GatewayState } from "../state.ts";

// Fixed so that repeated listings are byte-identical (clients cache them).
const CREATED = Math.floor(Date.parse("2026-01-01T00:00:00Z") / 1000);

function modelObject(pool: ModelPool) {
  const m = pool.model;
  return {
    id: m.id,
    object: "model",
    created: CREATED,
    owned_by: m.ownedBy,
    ...(m.contextLength ? { max_model_len: m.contextLength } : {}),
    aliases: m.aliases,
    capabilities: m.capabilities,
    cost_tier: m.costTier,
  };
}

/**
 * `GET /v1/models` and `GET /v1/models/{id}`, behind the same key check as every `/v1`
 * route: clients call `models.list()` to test a key, and a bad key must fail there too.
 */
export function mountModelRoutes(
  router: Router<GatewayState>,
  registry: ModelRegistry,
  before: readonly Middleware<GatewayState>[],
): void {
  router.get("/v1/models", ...before, (ctx) => {
    ctx.body = { object: "list", data: registry.pools.map(modelObject) };
  });
  // Model names may contain slashes (`moonshotai/Kimi-K2.5`), so take the whole rest of the path.
  router.get(/^\/v1\/models\/(.+)$/, ...before, (ctx) => {
    const raw = ctx.path.slice("/v1/models/".length);
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      // A broken percent-encoding (`%E0%A4%A`) names no model.
      throw errors.modelNotFound(raw);
    }
    const pool = registry.resolve(name);
    if (!pool) throw errors.modelNotFound(name);
    ctx.body = modelObject(pool);
  });
}
