import { describe, expect, it } from "vitest";
import { clusteredVectors, exactTopK } from "./bench/vectors.ts";
import { NamespaceIndex } from "./binaryIndex.ts";
import { dot } from "./vector.ts";

describe("NamespaceIndex", () => {
  const items = clusteredVectors(5_000, 256, { clusters: 100, seed: 1 });
  const queries = clusteredVectors(30, 256, { clusters: 100, seed: 2 });
  const build = () => {
    const index = new NamespaceIndex(1);
    for (let i = 0; i < 5_000; i++) index.upsert(i, items.row(i), { shard: i % 4 }, null);
    return index;
  };
  const rerank = (ids: number[], q: Float32Array, k: number) =>
    ids
      .map((i) => ({ i, s: dot(q, items.row(i)) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, k)
      .map((x) => x.i);

  it("finds the exact top-10 at recall ≥ 0.95 after reranking its candidates", () => {
    const index = build();
    let hits = 0;
    for (let q = 0; q < 30; q++) {
      const truth = exactTopK(items, queries.row(q), 10);
      const got = new Set(rerank(index.candidates(queries.row(q), 400, 0), queries.row(q), 10));
      hits += truth.filter((i) => got.has(i)).length;
    }
    expect(hits / 300).toBeGreaterThanOrEqual(0.95);
  });

  it("only returns candidates that match the filter and are not expired", () => {
    const index = build();
    index.upsert(5_000, items.row(0), { shard: 1 }, 1_000);
    const ids = index.candidates(items.row(0), 50, 1_000, (m) => m["shard"] === 1);
    expect(ids.length).toBeGreaterThanOrEqual(50);
    expect(ids.every((i) => i % 4 === 1 && i !== 5_000)).toBe(true);
    // Before its expiry the extra item is a candidate (it equals the query: Hamming distance 0).
    expect(index.candidates(items.row(0), 1, 999, (m) => m["shard"] === 1)).toEqual([5_000]);
  });

  it("stays consistent through removals and replacements (swap-remove keeps every slot right)", () => {
    const index = build();
    for (let i = 0; i < 5_000; i += 2) index.remove(i);
    index.remove(123_456); // absent: no-op
    expect(index.count).toBe(2_500);
    // Every remaining odd item is found when the budget covers everything.
    const all = index.candidates(queries.row(0), 5_000, 0);
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 2_500 }, (_, j) => 2 * j + 1));
    // Replacing an item's vector moves it: item 1 now looks like item 3's vector.
    index.upsert(1, items.row(3), { shard: 9 }, null);
    expect(index.count).toBe(2_500);
    expect(index.candidates(items.row(3), 1, 0, (m) => m["shard"] === 9)).toEqual([1]);
  });
});
