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
  recall: number;
}
const rows: Row[] = [];

async function measure(technique: string, filter: { shard: number } | undefined): Promise<void> {
  const times: number[] = [];
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) {
    const start = performance.now();
    const found = await search(q, filter);
    times.push(performance.now() - start);
    const truth = exactTopK(
      items,
      queries.row(q),
      K,
      filter ? (i) => i % SHARDS === filter.shard : undefined,
    );
    const got = new Set(found.map((h) => indexOf(h.item.key)));
    hits += truth.filter((i) => got.has(i)).length;
  }
  rows.push({
    technique,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    recall: hits / (QUERIES * K),
  });
}

await measure("store search: sign-bit scan + exact rerank of 400 (default)", undefined);
await measure("same, filter `shard` = 3 (10% of items)", { shard: 3 });
{
  const times: number[] = [];
  const baselineQueries = Math.min(QUERIES, 40);
  for (let q = 0; q < baselineQueries; q++) {
    const start = performance.now();
    exactTopK(items, queries.row(q), K);
    times.push(performance.now() - start);
  }
  rows.push({
    technique: "baseline: exact float scan in JS",
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    recall: 1,
  });
}
await store.close();
data.remove();

console.log(
  `memory search: ${N.toLocaleString("en")} items × ${DIMS} dims in one namespace, top-${K}, ${QUERIES} queries` +
    ` (data ${ms(genMs)} ms, bulk load ${ms(loadMs)} ms, index build on first search ${ms(buildMs)} ms)\n`,
);
console.log("| technique | p50 ms | p99 ms | recall@10 |");
console.log("|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.technique} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.recall.toFixed(3)} |`);
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
