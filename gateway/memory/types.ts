/**
 * The memory store's seam: what the HTTP layer asks of either dialect. SQLite searches with
 * an in-process binary-quantised index (binaryIndex.ts) and exact rerank; Postgres with
 * pgvector. The same contract suite (store/memory.contract.test.ts) runs on both.
 */
import type { MemoryFilter } from "./filter.ts";

export interface MemoryItem {
  namespace: string;
  key: string;
  value: string;
  metadata: Record<string, unknown>;
  /** Unit-length embedding of `value` (the repository stores what it is given). */
  embedding: Float32Array;
  /** The model that computed `embedding`: a different configured model means recompute. */
  embeddingModel: string;
  createdAt: number;
  updatedAt: number;
  /** Epoch ms after which the item is gone (reads ignore it, the sweeper deletes it); null: never. */
  expiresAt: number | null;
}

export interface MemoryPut {
  keyId: string;
  namespace: string;
  key: string;
  value: string;
  metadata: Record<string, unknown>;
  embedding: Float32Array;
  embeddingModel: string;
  expiresAt: number | null;
  now: number;
  /** Live items a namespace may hold; a put that would add one more throws QuotaExceeded. */
  maxItems: number;
}

export interface MemoryListPage {
  items: MemoryItem[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface MemoryHit {
  item: MemoryItem;
  /** Cosine similarity with the query, 1 = same direction. */
  score: number;
}

export interface MemorySearch {
  keyId: string;
  namespace: string;
  query: Float32Array;
  topK: number;
  filter: MemoryFilter;
  now: number;
}

export interface MemoryRepository {
  /** The live item, or undefined (absent, expired, or another key's). */
  get(keyId: string, namespace: string, key: string, now: number): Promise<MemoryItem | undefined>;
  /** Inserts or replaces; `created` says which. Throws QuotaExceeded when the namespace is full. */
  put(item: MemoryPut): Promise<{ created: boolean; item: MemoryItem }>;
  /** Live items in the namespace (the quota's count). */
  count(keyId: string, namespace: string, now: number): Promise<number>;
  /** False when there was no live item to delete. */
  delete(keyId: string, namespace: string, key: string, now: number): Promise<boolean>;
  /** Live items in key order, after the cursor (a key), at most `limit`. */
  list(
    keyId: string,
    namespace: string,
    opts: { after?: string; limit: number; now: number },
  ): Promise<MemoryListPage>;
  /** The `topK` live items most similar to `query` among those matching `filter`, best first. */
  search(query: MemorySearch): Promise<MemoryHit[]>;
  /** Deletes up to `batch` expired items; returns how many. */
  sweepExpired(now: number, batch: number): Promise<number>;
}
