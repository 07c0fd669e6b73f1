import type Router from "@koa/router";
import type { ModelRegistry } from "../routing/modelRegistry.ts";

/**
 * Per-model status (SERV-08): replicas, queue depth, running, KV cache and GPU use from
 * the last scrape. `details` adds each replica's last error, which can name internal
 * addresses: the admin API shows it, `/health/models` (ops listener, no key) does not.
 */
export function modelHealth(registry: ModelRegistry, opts: { details?: boolean; now?: number } = {}) {
  const now = opts.now ?? Date.now();
  return registry.pools.map((pool) => {
    const replicas = pool.replicas.map((r) => ({
      id: r.id,
      healthy: r.healthy(now),
      outstanding: r.outstanding,
      waiting: r.stats?.waiting ?? null,
      running: r.stats?.running ?? null,
      kv_cache_usage: r.stats?.kvCacheUsage ?? null,
      gpu_utilization: r.stats?.gpuUtilization ?? null,
      ...(opts.details ? { last_error: r.lastError } : {}),
    }));
    const healthy = replicas.filter((r) => r.healthy).length;
    const sum = (k: "waiting" | "running") => replicas.reduce((a, r) => a + (r[k] ?? 0), 0);
    const gpu = replicas.map((r) => r.gpu_utilization).filter((v): v is number => v !== null);
    return {
      model: pool.model.id,
      status: healthy === 0 ? "down" : healthy === replicas.length ? "ok" : "degraded",
      replicas_healthy: healthy,
      replicas_total: replicas.length,
      queue_depth: sum("waiting"),
      running: sum("running"),
      gpu_utilization: gpu.length ? gpu.reduce((a, b) => a + b, 0) / gpu.length : null,
      replicas,
      // Pods that left (terminating or gone) while requests there finish; never picked.
      replicas_draining: pool.draining.length,
      ...(pool.discovery
        ? {
            discovery: {
              source: pool.discovery.source,
              synced: pool.discovery.synced,
              error: pool.discovery.lastError,
            },
          }
        : {}),
    };
  });
}

/** Why the gateway itself cannot serve; an empty list means ready. */
export type ReadinessCheck = () => string[] | Promise<string[]>;

/**
 * `/healthz` (the process is alive) and `/readyz` (the gateway itself can serve: config
 * loaded, store reachable, not draining, discovered models listed once), on both listeners.
 * Readiness says nothing about models' health: one model without healthy replicas answers
 * 503 for that model only (and `/health/models` reports it), never takes the whole API out
 * of a load balancer.
 */
export function mountProbeRoutes(router: Router, notReady: ReadinessCheck): void {
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    const reasons = await notReady();
    ctx.status = reasons.length === 0 ? 200 : 503;
    ctx.body = { status: reasons.length === 0 ? "ready" : "not_ready", reasons };
  });
}

/** `/health/models`, on the operational listener. */
export function mountModelHealthRoute(router: Router, registry: ModelRegistry): void {
  router.get("/health/models", (ctx) => {
    ctx.body = { object: "list", data: modelHealth(registry) };
  });
}
