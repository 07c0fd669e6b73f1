/** What the balancer knows about one replica at the moment of choosing; gathered elsewhere. */
export interface ReplicaSnapshot {
  readonly id: string;
  /** Passes health probes and is not cooling down after a failed request. */
  readonly healthy: boolean;
  /** Passes health probes but failed a request recently: a last resort, not a first choice. */
  readonly coolingDown?: boolean;
  /** Requests this gateway process has in flight to the replica. */
  readonly outstanding: number;
  /** Requests queued inside the engine, from its last scraped `/metrics` (0 when unknown). */
  readonly waiting: number;
}

export interface PickRequest {
  /** `X-Session-Id`: keeps a conversation on one replica so vLLM's prefix cache stays warm. */
  readonly sessionId?: string | undefined;
  /** Replicas already tried for this request. */
  readonly exclude?: ReadonlySet<string>;
}

/**
 * Chooses a replica: the session's home replica when it is healthy, otherwise the
 * healthy replica with the least load (outstanding + engine queue), ties broken by
 * order. When every replica is cooling down after failed requests but still passes
 * its probes, the least loaded of those is tried rather than refusing outright
 * (one transient 5xx must not take a single-replica model offline).
 * Pure: same snapshots and request, same answer.
 */
export function pick(
  replicas: readonly ReplicaSnapshot[],
  req: PickRequest = {},
): ReplicaSnapshot | undefined {
  const candidates = req.exclude?.size ? replicas.filter((r) => !req.exclude!.has(r.id)) : replicas;
  if (req.sessionId) {
    const home = homeReplica(candidates, req.sessionId);
    if (home?.healthy) return home;
  }
  return leastLoaded(candidates, (r) => r.healthy) ?? leastLoaded(candidates, (r) => r.coolingDown === true);
}

function leastLoaded(
  replicas: readonly ReplicaSnapshot[],
  eligible: (r: ReplicaSnapshot) => boolean,
): ReplicaSnapshot | undefined {
  let best: ReplicaSnapshot | undefined;
  for (const r of replicas) {
    if (!eligible(r)) continue;
    if (!best || r.outstanding + r.waiting < best.outstanding + best.waiting) best = r;
  }
  return best;
}

/**
 * Rendezvous hashing: every replica scores the session, the highest wins. Adding or
 * removing a replica only moves the sessions that lived on it.
 */
export function homeReplica(
  replicas: readonly ReplicaSnapshot[],
  sessionId: string,
): ReplicaSnapshot | undefined {
  let best: ReplicaSnapshot | undefined;
  let bestScore = -1;
  for (const r of replicas) {
    const score = fnv1a(`${sessionId}\u0000${r.id}`);
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche so that near-identical inputs spread across the range.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
