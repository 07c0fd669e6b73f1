import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/load.ts";
import type { DiscoveredReplica } from "./discovery/endpointSlices.ts";
import { pick } from "./pick.ts";
import { ModelPool } from "./replicaPool.ts";

const discovered = (id: string, port: number, ready = true, terminating = false): DiscoveredReplica => ({
  id,
  url: `http://127.0.0.1:${port}`,
  ready,
  terminating,
});

function discoveredPool(): ModelPool {
  const config = parseConfig({
    models: [{ id: "m", discovery: { kind: "kubernetes", namespace: "ns", service: "svc" } }],
  });
  return new ModelPool(config.models[0]!);
}

describe("ModelPool.update", () => {
  it("starts empty and not synced, and keeps the state of pods that stay", async () => {
    const pool = discoveredPool();
    expect(pool.replicas).toEqual([]);
    expect(pool.discovery).toEqual({ source: "kubernetes ns/svc", synced: false, lastError: null });
    pool.update([discovered("a", 9001), discovered("b", 9002)]);
    const a = pool.get("a")!;
    a.outstanding = 3;
    a.markFailed("HTTP 500", 60_000, "unhealthy");
    a.stats = { waiting: 7, running: 1, kvCacheUsage: null, gpuUtilization: null, scrapedAt: 1 };
    const { added, removed } = pool.update([
      discovered("a", 9001),
      discovered("b", 9002),
      discovered("c", 9003),
    ]);
    expect(added).toEqual(["c"]);
    expect(removed).toEqual([]);
    expect(pool.get("a")).toBe(a);
    expect(a.outstanding).toBe(3);
    expect(a.healthy(Date.now())).toBe(false);
    expect(a.stats?.waiting).toBe(7);
    await pool.close();
  });

  it("never picks a not-ready pod, not even as the cooling-down last resort, and keeps it for when it is ready", async () => {
    const pool = discoveredPool();
    pool.update([discovered("a", 9001, false)]);
    const a = pool.get("a")!;
    expect(pick(pool.snapshots())).toBeUndefined();
    pool.update([discovered("a", 9001, true)]);
    expect(pool.get("a")).toBe(a);
    expect(pick(pool.snapshots())?.id).toBe("a");
    await pool.close();
  });

  it("drops a terminating or vanished pod at once, and replaces a pod back on a new address", async () => {
    const pool = discoveredPool();
    pool.update([discovered("a", 9001), discovered("b", 9002), discovered("c", 9003)]);
    const c = pool.get("c")!;
    const result = pool.update([discovered("a", 9001, false, true), discovered("c", 9004)]);
    expect(result).toEqual({ added: ["c"], removed: ["a", "b", "c"] });
    expect(pool.replicas.map((r) => r.id)).toEqual(["c"]);
    expect(pool.get("c")).not.toBe(c);
    expect(pool.get("c")!.url).toBe("http://127.0.0.1:9004");
    expect(pick(pool.snapshots())?.id).toBe("c");
    await pool.close();
    expect(pool.draining).toEqual([]);
  });
});
