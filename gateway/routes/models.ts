import type Router from "@koa/router";
import { errors } from "../errors.ts";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import type { ModelPool } from "../routing/replicaPool.ts";

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

export function mountModelRoutes(router: Router, registry: ModelRegistry): void {
  router.get("/v1/models", (ctx) => {
    ctx.body = { object: "list", data: registry.pools.map(modelObject) };
  });
  // Model names may contain slashes (`moonshotai/Kimi-K2.5`), so take the whole rest of the path.
  router.get(/^\/v1\/models\/(.+)$/, (ctx) => {
    const name = decodeURIComponent(ctx.path.slice("/v1/models/".length));
    const pool = registry.resolve(name);
    if (!pool) throw errors.modelNotFound(name);
    ctx.body = modelObject(pool);
  });
}
