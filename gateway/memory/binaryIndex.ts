/**
 * One namespace's search index, in process memory: each vector's sign bits (1,024 dims →
 * 128 bytes), scanned by Hamming distance to pick candidates that the caller reranks by
 * exact cosine. Measured on 100,000 × 1,024 clustered unit vectors on a 2-core machine
 * (README, `npm run bench:memory`): the scan takes a few ms where an exact float scan in JS
 * takes ~200 ms and sqlite-vec's exact scan ~140 ms (sqlite-vec 0.1.9's bit vectors: ~60 ms
 * for the scan alone), and reranking the nearest ~1,000 candidates by exact cosine
 * (store/sqlite/sqliteMemory.ts) gives recall@10 ≥ 0.95. Filters run inside the scan, so
 * they apply before top-k: a filter matching fewer items than the candidate budget makes
 * the search exact.
 * The full vectors stay in the store; this holds 1/32 of their size plus the metadata.
 */
export class NamespaceIndex {
  /** The store's revision of the namespace this index reflects (see sqliteMemory.ts). */
  revision: number;
  private words = 0;
  private size = 0;
  private rowIds = new Float64Array(0);
  private codes = new Uint32Array(0);
  private expires = new Float64Array(0);
  private metadata: Record<string, unknown>[] = [];
  private slotOf = new Map<number, number>();
  private distances = new Int32Array(0);
  private histogram = new Int32Array(0);
  private query = new Uint32Array(0);

  constructor(revision: number) {
    this.revision = revision;
  }

  get count(): number {
    return this.size;
  }

  upsert(
    rowId: number,
    vector: Float32Array,
    metadata: Record<string, unknown>,
    expiresAt: number | null,
  ): void {
    if (this.words === 0) this.words = Math.ceil(vector.length / 32);
    let slot = this.slotOf.get(rowId);
    if (slot === undefined) {
      slot = this.size++;
      this.grow(this.size);
      this.slotOf.set(rowId, slot);
    }
    this.rowIds[slot] = rowId;
    this.expires[slot] = expiresAt ?? Number.POSITIVE_INFINITY;
    this.metadata[slot] = metadata;
    signBits(vector, this.codes, slot * this.words, this.words);
  }

  remove(rowId: number): void {
    const slot = this.slotOf.get(rowId);
    if (slot === undefined) return;
    // Swap-remove: the last slot fills the hole, so the scan stays over a dense prefix.
    const last = --this.size;
    this.slotOf.delete(rowId);
    if (slot !== last) {
      const moved = this.rowIds[last]!;
      this.rowIds[slot] = moved;
      this.expires[slot] = this.expires[last]!;
      this.metadata[slot] = this.metadata[last]!;
      this.codes.copyWithin(slot * this.words, last * this.words, (last + 1) * this.words);
      this.slotOf.set(moved, slot);
    }
    this.metadata.length = last;
  }

  /**
   * Row ids of the (about) `budget` live, matching items nearest `query` by Hamming distance
   * (ties at the cut-off are all kept). Every match when fewer match than the budget.
   */
  candidates(
    query: Float32Array,
    budget: number,
    now: number,
    match?: (metadata: Record<string, unknown>) => boolean,
  ): number[] {
    const { words, size, codes } = this;
    if (size === 0) return [];
    // Scratch buffers live with the index: a search allocates nothing proportional to its size.
    if (this.query.length !== words) {
      this.query = new Uint32Array(words);
      this.histogram = new Int32Array(words * 32 + 2);
    }
    const q = this.query;
    signBits(query, q, 0, words);
    if (this.distances.length < size) this.distances = new Int32Array(this.codes.length / words);
    const dist = this.distances;
    const histogram = this.histogram.fill(0);
    const excluded = words * 32 + 1;
    for (let s = 0; s < size; s++) {
      if (this.expires[s]! <= now || (match && !match(this.metadata[s]!))) {
        dist[s] = excluded;
        continue;
      }
      let d = 0;
      const o = s * words;
      for (let w = 0; w < words; w++) d += popcount(codes[o + w]! ^ q[w]!);
      dist[s] = d;
      histogram[d]!++;
    }
    // The smallest distance cut-off that admits at least `budget` items (a counting select).
    let cut = 0;
    let admitted = histogram[0]!;
    while (admitted < budget && cut < excluded - 1) admitted += histogram[++cut]!;
    const out: number[] = [];
    for (let s = 0; s < size; s++) if (dist[s]! <= cut) out.push(this.rowIds[s]!);
    return out;
  }

  private grow(needed: number): void {
    if (needed <= this.rowIds.length) return;
    const cap = Math.max(1024, this.rowIds.length * 2, needed);
    const rowIds = new Float64Array(cap);
    rowIds.set(this.rowIds);
    this.rowIds = rowIds;
    const expires = new Float64Array(cap);
    expires.set(this.expires);
    this.expires = expires;
    const codes = new Uint32Array(cap * this.words);
    codes.set(this.codes);
    this.codes = codes;
  }
}

function signBits(v: Float32Array, out: Uint32Array, offset: number, words: number): void {
  for (let w = 0; w < words; w++) {
    let x = 0;
    const base = w * 32;
    const end = Math.min(32, v.length - base);
    for (let b = 0; b < end; b++) if (v[base + b]! > 0) x |= 1 << b;
    out[offset + w] = x >>> 0;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
