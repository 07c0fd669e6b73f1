/**
 * The auth step's view of keys: a short-lived, bounded in-memory cache in front of the
 * KeyRepository, so a request costs one SHA-256 and a Map lookup instead of a query.
 *
 * Freshness: an entry lives at most `ttlMs` (default 1 s). `invalidate(keyId)` drops one
 * at once: the admin API calls it in this process, and the store's key-change notices
 * (Postgres LISTEN/NOTIFY: every replica) call it everywhere else. The TTL is the
 * fallback, e.g. for several processes sharing one SQLite file, or a lost notice.
 *
 * A hit costs no await on the store. A miss queries once however many requests present
 * the same secret meanwhile; a lookup that was in flight when an invalidation arrived is
 * answered but not cached (it may have read the row just before the change).
 */
import { hashSecret, type KeyRecord, type KeyRepository } from "./keys.ts";

export interface KeyCacheOptions {
  ttlMs?: number;
  /** Most known keys held; the least recently used is dropped beyond this. */
  maxEntries?: number;
  /** Most unknown secrets remembered, so a client retrying a bad key does not query each time. */
  maxNegativeEntries?: number;
  now?: () => number;
}

export interface KeyCache {
  /** The key record for a presented secret (any status: the caller checks keyState), or undefined. */
  lookup(secret: string): Promise<KeyRecord | undefined>;
  /** Drops the key's entry now; call after revoke, rotate or update in this process. */
  invalidate(keyId: string): void;
  /** Drops everything (tests, config reloads). */
  clear(): void;
  size(): { positive: number; negative: number };
}

interface Entry {
  record: KeyRecord;
  expiresAt: number;
}

export function createKeyCache(
  repo: Pick<KeyRepository, "findByHash">,
  opts: KeyCacheOptions = {},
): KeyCache {
  const ttlMs = opts.ttlMs ?? 1_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const maxNegative = opts.maxNegativeEntries ?? 10_000;
  const now = opts.now ?? Date.now;
  // Map iteration order is insertion order: re-inserting on a hit makes the first key the LRU.
  const known = new Map<string, Entry>();
  const unknown = new Map<string, number>(); // hash -> expiresAt
  const hashById = new Map<string, string>();
  const inFlight = new Map<string, Promise<KeyRecord | undefined>>();
  // Bumped by every invalidation: an answer read before a bump is not cached.
  let epoch = 0;

  function forget(hash: string): void {
    const entry = known.get(hash);
    if (!entry) return;
    known.delete(hash);
    if (hashById.get(entry.record.id) === hash) hashById.delete(entry.record.id);
  }

  function evictOldest<V>(map: Map<string, V>, max: number, drop: (hash: string) => void): void {
    while (map.size > max) {
      const oldest = map.keys().next();
      if (oldest.done) return;
      drop(oldest.value);
    }
  }

  function remember(hash: string, record: KeyRecord | undefined, t: number): void {
    if (!record) {
      unknown.set(hash, t + ttlMs);
      evictOldest(unknown, maxNegative, (h) => unknown.delete(h));
      return;
    }
    // A rotated key may still have its old hash cached; the id index points at the newest.
    const previous = hashById.get(record.id);
    if (previous !== undefined && previous !== hash) forget(previous);
    known.set(hash, { record, expiresAt: t + ttlMs });
    hashById.set(record.id, hash);
    evictOldest(known, maxEntries, forget);
  }

  return {
    async lookup(secret: string): Promise<KeyRecord | undefined> {
      const hash = hashSecret(secret);
      const t = now();
      const entry = known.get(hash);
      if (entry) {
        if (entry.expiresAt > t) {
          known.delete(hash);
          known.set(hash, entry);
          return entry.record;
        }
        forget(hash);
      }
      const missUntil = unknown.get(hash);
      if (missUntil !== undefined) {
        if (missUntil > t) return undefined;
        unknown.delete(hash);
      }

      const pending = inFlight.get(hash);
      if (pending) return pending;
      const started = epoch;
      const query = repo
        .findByHash(hash)
        .then((record) => {
          if (started === epoch) remember(hash, record, now());
          return record;
        })
        .finally(() => {
          if (inFlight.get(hash) === query) inFlight.delete(hash);
        });
      inFlight.set(hash, query);
      return query;
    },

    invalidate(keyId: string): void {
      epoch += 1;
      inFlight.clear(); // later lookups must not join a query that may predate the change
      const hash = hashById.get(keyId);
      if (hash !== undefined) forget(hash);
    },

    clear(): void {
      epoch += 1;
      inFlight.clear();
      known.clear();
      unknown.clear();
      hashById.clear();
    },

    size() {
      return { positive: known.size, negative: unknown.size };
    },
  };
}
