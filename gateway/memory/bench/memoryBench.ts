/**
 * `npm run bench:memory`: search latency and recall of the embedded default (SQLite) at
 * 100,000 items × 1,024 dimensions in one namespace, vectors precomputed (the embedding call
 * is excluded, as the target says). Items go into a real store file; searches go through
 * the store's MemoryRepository exactly as `POST /v1/memory/{ns}/search` calls it. Beside it,
 * the exact baseline: a full float scan in JS over the same vectors. Exits 1 when a target
 * (p50 ≤ 20 ms, p99 ≤ 50 ms, recall@10 ≥ 0.95) is missed.
 *
 * Options (env): MEMORY_BENCH_ITEMS (100000), MEMORY_BENCH_DIMS (1024), MEMORY_BENCH_QUERIES (200).
 */

import { cpus, loadavg } from "node:os";
import Database from "better-sqlite3";
import { openStore } from "../../store/index.ts";
import { tempDataDir } from "../../store/testing.ts";
import { parseFilter } from "../filter.ts";
import { toBlob } from "../vector.ts";
import { clusteredVectors, exactTopK } from "./vectors.ts";

const N = Number(process.env["MEMORY_BENCH_ITEMS"] ?? 100_000);
const DIMS = Number(process.env["MEMORY_BENCH_DIMS"] ?? 1_024);
const QUERIES = Number(process.env["MEMORY_BENCH_QUERIES"] ?? 200);
const K = 10;
const SHARDS = 10;

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
};
const ms = (x: number) => x.toFixed(1);

const t0 = performance.now();
const items = clusteredVectors(N, DIMS, { seed: 1 });
// Queries on the same topics, not copies of stored items.
const queries = clusteredVectors(QUERIES, DIMS, { seed: 2 });
const genMs = performance.now() - t0;

const data = tempDataDir();
const store = await openStore({ dataDir: data.dir });
const memory = store.memory!;
// Bulk load with one transaction (the API's PUT is one transaction per item); the revision
// row is what the API's writes would have left.
const load0 = performance.now();
{
  const db = new Database(`${data.dir}/gateway.sqlite`);
  const insert = db.prepare(
    `INSERT INTO memory_items (key_id, namespace, item_key, value, metadata, embedding, embedding_model, created_at, updated_at, expires_at)
     VALUES ('key_bench', 'bench', ?, ?, ?, ?, 'bench', 0, 0, NULL)`,
  );
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      insert.run(`item-${i}`, `item ${i}`, JSON.stringify({ shard: i % SHARDS }), toBlob(items.row(i)));
    }
    db.prepare(
      "INSERT INTO memory_namespaces (key_id, namespace, revision) VALUES ('key_bench', 'bench', 1)",
    ).run();
  })();
  db.close();
}
const loadMs = performance.now() - load0;

const search = (q: number, filter: unknown) =>
  memory.search({
    keyId: "key_bench",
    namespace: "bench",
    query: queries.row(q),
    topK: K,
    filter: parseFilter(filter),
    now: Date.now(),
  });
const indexOf = (key: string) => Number(key.slice("item-".length));

// The first search builds the namespace's index from the table (what a restart costs once).
const build0 = performance.now();
await search(0, undefined);
const buildMs = performance.now() - build0;

interface Row {
  technique: string;
  p50: number;
  p99: number;
  /** CPU time of the process per search: what latency would be with the cores to ourselves. */
  cpuP50: number;
  cpuP99: number;
  recall: number;
}
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rows: Row[] = [];

/** Runs `search(q)` for each query, timing wall clock and CPU; recall against `truth(q)`. */
async function measure(
  technique: string,
  queryCount: number,
  search: (q: number) => Promise<number[]> | number[],
  truth: (q: number) => number[],
): Promise<void> {
  const times: number[] = [];
  const cpu: number[] = [];
  let hits = 0;
  for (let q = 0; q < queryCount; q++) {
    const start = performance.now();
    const cpuStart = cpuMs();
    const found = await search(q);
    cpu.push(cpuMs() - cpuStart);
    times.push(performance.now() - start);
    const got = new Set(found);
    hits += truth(q).filter((i) => got.has(i)).length;
  }
  rows.push({
    technique,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    cpuP50: percentile(cpu, 0.5),
    cpuP99: percentile(cpu, 0.99),
    recall: hits / (queryCount * K),
  });
}

const keysOf = (hits: Awaited<ReturnType<typeof search>>) => hits.map((h) => indexOf(h.item.key));
const inShard = (i: number) => i % SHARDS === 3;
await measure(
  "store search: sign-bit scan + exact rerank of max(1,000, 40 × k)",
  QUERIES,
  async (q) => keysOf(await search(q, undefined)),
  (q) => exactTopK(items, queries.row(q), K),
);
await measure(
  "same, filter `shard` = 3 (10% of items), rerank max(1,000, 200 × k)",
  QUERIES,
  async (q) => keysOf(await search(q, { shard: 3 })),
  (q) => exactTopK(items, queries.row(q), K, inShard),
);
await measure(
  "baseline: exact float scan in JS",
  Math.min(QUERIES, 40),
  (q) => exactTopK(items, queries.row(q), K),
  (q) => exactTopK(items, queries.row(q), K),
);
await store.close();
data.remove();

console.log(
  `memory search: ${N.toLocaleString("en")} items × ${DIMS} dims in one namespace, top-${K}, ${QUERIES} queries` +
    ` (data ${ms(genMs)} ms, bulk load ${ms(loadMs)} ms, index build on first search ${ms(buildMs)} ms)\n`,
);
console.log(
  `load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(", ")} on ${cpus().length} cores\n`,
);
console.log("| technique | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | recall@10 |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.technique} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.cpuP50)} | ${ms(r.cpuP99)} | ${r.recall.toFixed(3)} |`,
  );
}
const target = rows[0]!;
const failed = [
  target.p50 > 20 ? `p50 ${ms(target.p50)} ms > 20 ms` : "",
  target.p99 > 50 ? `p99 ${ms(target.p99)} ms > 50 ms` : "",
  target.recall < 0.95 ? `recall@10 ${target.recall.toFixed(3)} < 0.95` : "",
].filter(Boolean);
console.log(
  failed.length
    ? `\nFAIL: ${failed.join(", ")}`
    : "\ntargets met: p50 ≤ 20 ms, p99 ≤ 50 ms, recall@10 ≥ 0.95",
);
process.exitCode = failed.length ? 1 : 0;
