import { describe, expect, it } from "vitest";
import { homeReplica, pick, type ReplicaSnapshot } from "./pick.ts";

const r = (id: string, outstanding = 0, healthy = true, waiting = 0): ReplicaSnapshot => ({
  id,
  outstanding,
  healthy,
  waiting,
});

describe("pick", () => {
  it("chooses the replica with the fewest outstanding requests", () => {
    expect(pick([r("a", 3), r("b", 1), r("c", 2)])?.id).toBe("b");
  });

  it("counts the engine's own waiting queue as load", () => {
    expect(pick([r("a", 1, true, 5), r("b", 2, true, 0)])?.id).toBe("b");
  });

  it("skips unhealthy and excluded replicas, and gives up when none is left", () => {
    expect(pick([r("a", 0, false), r("b", 9)])?.id).toBe("b");
    expect(pick([r("a"), r("b", 5)], { exclude: new Set(["a"]) })?.id).toBe("b");
    expect(pick([r("a", 0, false)])).toBeUndefined();
    expect(pick([])).toBeUndefined();
  });

  it("falls back to a replica cooling down after failures when no healthy one is left", () => {
    const cooling = (id: string, outstanding: number): ReplicaSnapshot => ({
      ...r(id, outstanding, false),
      coolingDown: true,
    });
    expect(pick([r("a", 0, false), cooling("b", 3), cooling("c", 1)])?.id).toBe("c");
    expect(pick([r("a", 9), cooling("b", 0)])?.id).toBe("a");
    expect(pick([cooling("b", 0)], { exclude: new Set(["b"]) })).toBeUndefined();
  });

  it("keeps a session on its home replica even when another is less loaded", () => {
    const replicas = [r("a", 10), r("b", 10), r("c", 10)];
    const home = homeReplica(replicas, "session-42")!;
    const loaded = replicas.map((x) => (x.id === home.id ? r(x.id, 50) : x));
    expect(pick(loaded, { sessionId: "session-42" })?.id).toBe(home.id);
  });

  it("moves a session elsewhere while its home replica is down", () => {
    const replicas = [r("a"), r("b"), r("c")];
    const home = homeReplica(replicas, "s1")!;
    const down = replicas.map((x) => (x.id === home.id ? r(x.id, 0, false) : x));
    const chosen = pick(down, { sessionId: "s1" });
    expect(chosen?.id).not.toBe(home.id);
    expect(chosen?.healthy).toBe(true);
  });

  it("spreads sessions over replicas and moves few when one is added", () => {
    const three = [r("a"), r("b"), r("c")];
    const four = [...three, r("d")];
    const counts = new Map<string, number>();
    let moved = 0;
    for (let i = 0; i < 3000; i++) {
      const before = homeReplica(three, `s${i}`)!.id;
      counts.set(before, (counts.get(before) ?? 0) + 1);
      const after = homeReplica(four, `s${i}`)!.id;
      if (after !== before) {
        moved++;
        expect(after).toBe("d");
      }
    }
    for (const c of counts.values()) expect(c).toBeGreaterThan(800);
    expect(moved).toBeGreaterThan(500);
    expect(moved).toBeLessThan(1000);
  });
});
