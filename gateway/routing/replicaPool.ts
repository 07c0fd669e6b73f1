import { Pool } from "undici";
import type { ModelConfig, ReplicaConfig } from "../config/schema.ts";
import type { ReplicaSnapshot } from "./pick.ts";

/** What the engine's `/metrics` (and dcgm-exporter) said at the last scrape. */
export interface EngineStats {
  waiting: number;
  running: number;
  kvCacheUsage: number | null;
  gpuUtilization: number | null;
  scrapedAt: number;
}

/**
 * How long an idle upstream connection is kept, per engine kind: below the engine's own
 * idle timeout, which it enforces without announcing it (uvicorn behind vLLM closes idle
 * keep-alive sockets after 5 s; llama-server's cpp-httplib after 5 s too). A socket the
 * engine already closed would fail the next request sent on it.
 */
export const UPSTREAM_KEEP_ALIVE_MS: Readonly<Record<ModelConfig["engine"], number>> = {
  vllm: 4_000,
  llamacpp: 4_000,
};

/** Live state of one backend replica. Mutated by the proxy and the prober; read as snapshots. */
export class Replica {
  readonly id: string;
  readonly url: string;
  readonly gpuMetricsUrl: string | undefined;
  readonly pool: Pool;
  outstanding = 0;
  /** Skipped until this time after a failure, unless a health probe succeeds sooner. */
  downUntil = 0;
  /** Result of the last `/health` probe; replicas start healthy so the first request need not wait. */
  probeHealthy = true;
  lastError: string | null = null;
  /**
   * A replica that refused connections is back once `/health` answers; one that
   * timed out or answered 5xx still answers `/health` while sick, so it sits out
   * its cool-down regardless.
   */
  private probeEndsCooldown = true;
  stats: EngineStats | null = null;
  /** Engine version (vLLM `/version`, llama.cpp `/props`), read once it first answers. */
  version: string | null = null;

  constructor(config: ReplicaConfig, connectTimeoutMs: number, keepAliveMs: number) {
    this.url = config.url.replace(/\/+$/, "");
    this.id = config.id ?? this.url;
    this.gpuMetricsUrl = config.gpuMetricsUrl;
    // One keep-alive pool per replica; pipelining stays off because a slow stream would block others.
    this.pool = new Pool(this.url, {
      connections: 256,
      pipelining: 1,
      keepAliveTimeout: keepAliveMs,
      // Never stretch it on a server's Keep-Alive hint beyond what we chose.
      keepAliveMaxTimeout: keepAliveMs,
      connect: { timeout: connectTimeoutMs },
    });
  }

  healthy(now: number): boolean {
    return this.probeHealthy && now >= this.downUntil;
  }

  markFailed(reason: string, cooldownMs: number, kind: "unreachable" | "unhealthy", now = Date.now()): void {
    this.downUntil = now + cooldownMs;
    this.lastError = reason;
    this.probeEndsCooldown = kind === "unreachable";
  }

  markProbe(ok: boolean, reason: string | null): void {
    this.probeHealthy = ok;
    if (!ok) {
      this.lastError = reason;
    } else if (this.probeEndsCooldown || Date.now() >= this.downUntil) {
      this.downUntil = 0;
      this.lastError = null;
    }
  }

  snapshot(now: number): ReplicaSnapshot {
    return {
      id: this.id,
      healthy: this.healthy(now),
      coolingDown: this.probeHealthy && now < this.downUntil,
      outstanding: this.outstanding,
      waiting: this.stats?.waiting ?? 0,
    };
  }
}

/** A model's replicas; owns their undici pools. */
export class ModelPool {
  readonly model: ModelConfig;
  readonly replicas: readonly Replica[];
  private readonly byId: ReadonlyMap<string, Replica>;

  constructor(model: ModelConfig) {
    this.model = model;
    this.replicas = model.replicas.map(
      (r) => new Replica(r, model.timeouts.connectMs, UPSTREAM_KEEP_ALIVE_MS[model.engine]),
    );
    this.byId = new Map(this.replicas.map((r) => [r.id, r]));
  }

  get(id: string): Replica | undefined {
    return this.byId.get(id);
  }

  snapshots(now = Date.now()): ReplicaSnapshot[] {
    return this.replicas.map((r) => r.snapshot(now));
  }

  healthyCount(now = Date.now()): number {
    return this.replicas.filter((r) => r.healthy(now)).length;
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.pool.close().catch(() => r.pool.destroy())));
  }
}
