/**
 * Synthetic embeddings for the memory benchmark and tests: unit vectors drawn around random
 * cluster centres (topics), like real text embeddings, which are far from uniform on the
 * sphere. Seeded, so every run measures the same data.
 */
export interface ClusteredVectors {
  dims: number;
  /** `count × dims`, row-major, each row unit length. */
  data: Float32Array;
  row(i: number): Float32Array;
}

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/**
 * `count` vectors around `clusters` centres; `spread` is the noise's norm relative to the
 * centre's (0.6: neighbours share a topic but differ clearly).
 */
export function clusteredVectors(
  count: number,
  dims: number,
  {
    clusters = 2_000,
    spread = 0.6,
    topicSeed = 42,
    seed = 1,
  }: { clusters?: number; spread?: number; topicSeed?: number; seed?: number } = {},
): ClusteredVectors {
  // The centres come from `topicSeed` and the samples from `seed`: queries share the items'
  // topics without being copies of items.
  const topics = seededRandom(topicSeed);
  const rnd = seededRandom(seed);
  const gaussOf = (r: () => number) => () =>
    Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const gauss = gaussOf(rnd);
  const topicGauss = gaussOf(topics);
  const scale = 1 / Math.sqrt(dims);
  const centres = new Float32Array(clusters * dims);
  for (let i = 0; i < centres.length; i++) centres[i] = topicGauss() * scale;
  const data = new Float32Array(count * dims);
  for (let i = 0; i < count; i++) {
    const c = Math.floor(rnd() * clusters) * dims;
    const o = i * dims;
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      const v = centres[c + d]! + spread * gauss() * scale;
      data[o + d] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < dims; d++) data[o + d]! *= inv;
  }
  return { dims, data, row: (i) => data.subarray(i * dims, (i + 1) * dims) };
}

/** Exact top-k by dot product over rows accepted by `keep`: the baseline recall is measured against. */
export function exactTopK(
  vectors: ClusteredVectors,
  query: Float32Array,
  k: number,
  keep: (i: number) => boolean = () => true,
): number[] {
  const { dims, data } = vectors;
  const count = data.length / dims;
  const best: Array<{ i: number; s: number }> = [];
  for (let i = 0; i < count; i++) {
    if (!keep(i)) continue;
    let s = 0;
    const o = i * dims;
    for (let d = 0; d < dims; d++) s += data[o + d]! * query[d]!;
    if (best.length < k) {
      best.push({ i, s });
      best.sort((a, b) => b.s - a.s);
    } else if (s > best[k - 1]!.s) {
      best[k - 1] = { i, s };
      best.sort((a, b) => b.s - a.s);
    }
  }
  return best.map((b) => b.i);
}
