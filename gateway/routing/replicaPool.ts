import { Pool } from "undici";
import type { ModelConfig, ReplicaConfig } from "../config/schema.ts";
import type { DiscoveredReplica } from "./discovery/endpointSlices.ts";
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
  /** What Kubernetes says of the pod (its EndpointSlice `ready` condition); always true for a listed replica. */
  endpointReady = true;
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
    // Connections are capped far above what an engine runs at once: requests past its batch wait
    // in the engine's queue (`num_requests_waiting`, which balancing reads), not hidden in ours.
    // At 256 the 257th concurrent stream to one replica waited here (loadtests/streams/).
    this.pool = new Pool(this.url, {
      connections: 4_096,
      pipelining: 1,
      keepAliveTimeout: keepAliveMs,
      // Never stretch it on a server's Keep-Alive hint beyond what we chose.
      keepAliveMaxTimeout: keepAliveMs,
      connect: { timeout: connectTimeoutMs },
    });
  }

  healthy(now: number): boolean {
    return this.endpointReady && this.probeHealthy && now >= this.downUntil;
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
      coolingDown: this.endpointReady && this.probeHealthy && now < this.downUntil,
      outstanding: this.outstanding,
      waiting: this.stats?.waiting ?? 0,
    };
  }
}

/** How a discovered model's replica set is doing; absent for a model with listed replicas. */
export interface DiscoveryStatus {
  /** What is watched, for messages: `kubernetes <namespace>/<service>`. */
  readonly source: string;
  /** The first list succeeded: the replica set is known (possibly empty). */
  synced: boolean;
  /** Why the last list or watch failed; null while watching works. */
  lastError: string | null;
}

/**
 * A model's replicas; owns their undici pools. A listed model's replicas are fixed; a
 * discovered model's change with `update()`, keeping the state (outstanding count, health,
 * cool-down, stats) of every replica that stays.
 */
export class ModelPool {
  readonly model: ModelConfig;
  readonly discovery: DiscoveryStatus | undefined;
  private current: Replica[];
  private byId: Map<string, Replica>;
  /** Replicas that left (pod terminating or gone) whose in-flight requests are still finishing. */
  private readonly leaving = new Set<Replica>();

  constructor(model: ModelConfig) {
    this.model = model;
    this.discovery = model.discovery
      ? {
          source: `kubernetes ${model.discovery.namespace}/${model.discovery.service}`,
          synced: false,
          lastError: null,
        }
      : undefined;
    this.current = model.replicas.map((r) => this.newReplica(r));
    this.byId = new Map(this.current.map((r) => [r.id, r]));
  }

  get replicas(): readonly Replica[] {
    return this.current;
  }

  /** Replicas no longer picked whose requests in flight are finishing (drained pods). */
  get draining(): readonly Replica[] {
    return [...this.leaving];
  }

  get(id: string): Replica | undefined {
    return this.byId.get(id);
  }

  /**
   * Applies a discovered replica set. A pod that stays keeps its Replica (and so its
   * state); a not-ready pod stays but is never picked; a terminating or vanished pod (or
   * one back on a new address) leaves the pool at once: no new request goes to it, and
   * its connection pool closes gracefully, so requests in flight there finish.
   */
  update(discovered: readonly DiscoveredReplica[]): { added: string[]; removed: string[] } {
    const added: string[] = [];
    const next: Replica[] = [];
    for (const d of discovered) {
      if (d.terminating) continue;
      let replica = this.byId.get(d.id);
      if (!replica || replica.url !== d.url) {
        replica = this.newReplica({ id: d.id, url: d.url });
        added.push(d.id);
      }
      replica.endpointReady = d.ready;
      next.push(replica);
    }
    const kept = new Set(next);
    const removed: string[] = [];
    for (const old of this.current) {
      if (kept.has(old)) continue;
      removed.push(old.id);
      this.leaving.add(old);
      // close() lets requests already on the pool finish, then ends its connections.
      void old.pool
        .close()
        .catch(() => old.pool.destroy())
        .finally(() => this.leaving.delete(old));
    }
    this.current = next;
    this.byId = new Map(next.map((r) => [r.id, r]));
    return { added, removed };
  }

  snapshots(now = Date.now()): ReplicaSnapshot[] {
    return this.current.map((r) => r.snapshot(now));
  }

  healthyCount(now = Date.now()): number {
    return this.current.filter((r) => r.healthy(now)).length;
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.current, ...this.leaving].map((r) => r.pool.close().catch(() => r.pool.destroy())),
    );
  }

  private newReplica(config: ReplicaConfig): Replica {
    return new Replica(config, this.model.timeouts.connectMs, UPSTREAM_KEEP_ALIVE_MS[this.model.engine]);
  }
}
