/**
 * The admin API (GATE-08, AGNT-05) under `/admin`: key management, usage statistics, model
 * status and tiers, behind the gateway's own admin token. Every route is registered here or
 * in a routes module with the guard as its first step, so no admin path is ever unguarded.
 */
import type { Router } from "@koa/router";
import type { Logger } from "pino";
import type { TierConfig } from "../config/schema.ts";
import { jsonBody } from "../middleware/jsonBody.ts";
import { mountAdminSessionRoutes } from "../sessions/routes.ts";
import type { GatewayState } from "../state.ts";
import type { Store } from "../store/index.ts";
import { adminGuard } from "./guard.ts";
import { mountKeyRoutes } from "./keysRoutes.ts";
import { adminOpenApi } from "./openapi.ts";
import { mountRoutingRoutes, type RoutingDeps } from "./routingRoutes.ts";
import { tierObject } from "./serialize.ts";
import { mountUsageRoutes } from "./usageRoutes.ts";

export interface AdminDeps {
  /** GONKA_ADMIN_KEY; at least 24 characters and not `gk-…` (checked at mount). */
  adminKey: string;
  store: Store;
  /** The auth step's key cache; invalidated on update, rotate and revoke. */
  keyCache: { invalidate(keyId: string): void };
  tiers: Record<string, TierConfig>;
  /** Per-model status; the gateway passes `() => modelHealth(registry)`. */
  modelStatus: () => unknown;
  /** Model ids and aliases the gateway serves; a key's allow-list may name only these. */
  modelNames: ReadonlySet<string>;
  /** Admin request bodies are small; defaults to 64 KiB. */
  bodyLimitBytes?: number;
  /** Audit log of key changes (ids and prefixes only, never secrets). */
  log?: Logger;
  /** Tiering: router aliases, the models' prices, and the gateway's alias router (explain). */
  routing?: Omit<RoutingDeps, "store">;
}

export function mountAdminRoutes(router: Router<GatewayState>, deps: AdminDeps): void {
  const guard = adminGuard(deps.adminKey);
  const body = jsonBody(deps.bodyLimitBytes ?? 64 * 1024);
  const audit = (event: string, fields: Record<string, unknown>) =>
    deps.log?.info({ admin: true, ...fields }, `admin: ${event}`);

  mountKeyRoutes(router, guard, body, {
    store: deps.store,
    keyCache: deps.keyCache,
    tiers: deps.tiers,
    modelNames: deps.modelNames,
    audit,
  });
  mountUsageRoutes(router, guard, deps.store);
  mountRoutingRoutes(router, guard, body, {
    store: deps.store,
    routers: deps.routing?.routers ?? [],
    models: deps.routing?.models ?? [],
    aliases: deps.routing?.aliases ?? (() => undefined),
  });
  mountAdminSessionRoutes(router, guard, deps.store.sessions);

  router.get("/admin/models", guard, (ctx) => {
    ctx.body = { object: "list", data: deps.modelStatus() };
  });
  router.get("/admin/tiers", guard, (ctx) => {
    const data = Object.entries(deps.tiers)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, tier]) => tierObject(name, tier));
    ctx.body = { object: "list", data };
  });
  router.get("/admin/openapi.json", guard, (ctx) => {
    ctx.body = adminOpenApi;
  });
}

export { bearerToken } from "../auth/bearer.ts";
export { adminGuard, adminTokenMatches, assertUsableAdminKey } from "./guard.ts";
export { adminOpenApi } from "./openapi.ts";
export { type KeyObject, keyObject, usageObject } from "./serialize.ts";
export { parseTime, parseUsageQuery } from "./usageRoutes.ts";
