import type Router from "@koa/router";
import type { ModelRegistry } from "../routing/modelRegistry.ts";

/** Per-model status (SERV-08): replicas, queue depth, running, KV cache and GPU use from the last scrape. */
/**
 * Per-model status. `details` adds each replica's last error, which can name internal
 * addresses: the admin API shows it, the public `/health/models` does not.
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
      status: healthy === replicas.length ? "ok" : healthy > 0 ? "degraded" : "down",
      replicas_healthy: healthy,
      replicas_total: replicas.length,
      queue_depth: sum("waiting"),
      running: sum("running"),
      gpu_utilization: gpu.length ? gpu.reduce((a, b) => a + b, 0) / gpu.length : null,
      replicas,
    };
  });
}

export function mountHealthRoutes(
  router: Router,
  registry: ModelRegistry,
  isShuttingDown: () => boolean,
): void {
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", (ctx) => {
    const models = modelHealth(registry);
    const notReady = models.filter((m) => m.replicas_healthy === 0).map((m) => m.model);
    const ready = !isShuttingDown() && notReady.length === 0;
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: ready ? "ready" : "not_ready",
      shutting_down: isShuttingDown(),
      models_without_replicas: notReady,
    };
  });
  router.get("/health/models", (ctx) => {
    ctx.body = { object: "list", data: modelHealth(registry) };
  });
}
