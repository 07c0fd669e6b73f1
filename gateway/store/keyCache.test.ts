import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "./index.ts";
import { createKeyCache } from "./keyCache.ts";
import type { KeyRecord } from "./keys.ts";
import { tempDataDir } from "./testing.ts";

let data: ReturnType<typeof tempDataDir>;
let store: Store;
let clock: number;
const now = () => clock;

/** Counts the queries the cache lets through. */
function counted(s: Store) {
  const calls = { n: 0 };
  return {
    calls,
    repo: {
      findByHash(hash: string): KeyRecord | undefined {
        calls.n += 1;
        return s.keys.findByHash(hash);
      },
    },
  };
}

beforeEach(() => {
  data = tempDataDir();
  store = openStore({ dataDir: data.dir });
  clock = 1_000_000;
});

afterEach(() => {
  store.close();
  data.remove();
});

describe("key cache", () => {
  it("serves repeated lookups from memory until the TTL passes", () => {
    const { repo, calls } = counted(store);
    const cache = createKeyCache(repo, { now });
    const { key, secret } = store.keys.create({ name: "a", tier: "free" });
    expect(cache.lookup(secret)?.id).toBe(key.id);
    expect(cache.lookup(secret)?.id).toBe(key.id);
    expect(calls.n).toBe(1);
    clock += 1_000;
    cache.lookup(secret);
    expect(calls.n).toBe(2);
  });

  it("sees a revoke or retier made by another process within the TTL", () => {
    const cache = createKeyCache(store.keys, { now, ttlMs: 1_000 });
    const other = openStore({ dataDir: data.dir }); // a second gateway process sharing the file
    const { key, secret } = store.keys.create({ name: "a", tier: "free" });
    expect(cache.lookup(secret)?.status).toBe("active");
    other.keys.update(key.id, { tier: "enterprise" });
    other.keys.revoke(key.id);
    clock += 999;
    expect(cache.lookup(secret)?.status).toBe("active");
    clock += 1;
    expect(cache.lookup(secret)).toMatchObject({ status: "revoked", tier: "enterprise" });
    other.close();
  });

  it("invalidate(keyId) makes revoke and rotate take effect at once", () => {
    const cache = createKeyCache(store.keys, { now, ttlMs: 60_000 });
    const { key, secret } = store.keys.create({ name: "a", tier: "free" });
    cache.lookup(secret);
    const rotated = store.keys.rotate(key.id);
    cache.invalidate(key.id);
    expect(cache.lookup(secret)).toBeUndefined();
    expect(cache.lookup(rotated.secret)?.id).toBe(key.id);
    store.keys.revoke(key.id);
    cache.invalidate(key.id);
    expect(cache.lookup(rotated.secret)?.status).toBe("revoked");
  });

  it("caches unknown secrets briefly and bounds both maps", () => {
    const { repo, calls } = counted(store);
    const cache = createKeyCache(repo, { now, maxEntries: 2, maxNegativeEntries: 3 });
    for (let i = 0; i < 5; i++) cache.lookup("gk-bad");
    expect(calls.n).toBe(1);
    for (let i = 0; i < 10; i++) cache.lookup(`gk-bad-${i}`);
    expect(cache.size().negative).toBe(3);
    const secrets = [1, 2, 3].map((i) => store.keys.create({ name: `k${i}`, tier: "free" }).secret);
    for (const s of secrets) cache.lookup(s);
    expect(cache.size().positive).toBe(2);
    // The first key was least recently used and got evicted: looking it up queries again.
    const before = calls.n;
    cache.lookup(secrets[0]!);
    expect(calls.n).toBe(before + 1);
    cache.lookup(secrets[0]!);
    expect(calls.n).toBe(before + 1);
  });
});
