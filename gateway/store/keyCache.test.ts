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
      findByHash(hash: string): Promise<KeyRecord | undefined> {
        calls.n += 1;
        return s.keys.findByHash(hash);
      },
    },
  };
}

beforeEach(async () => {
  data = tempDataDir();
  store = await openStore({ dataDir: data.dir });
  clock = 1_000_000;
});

afterEach(async () => {
  await store.close();
  data.remove();
});

describe("key cache", () => {
  it("serves repeated lookups from memory until the TTL passes", async () => {
    const { repo, calls } = counted(store);
    const cache = createKeyCache(repo, { now });
    const { key, secret } = await store.keys.create({ name: "a", tier: "free" });
    expect((await cache.lookup(secret))?.id).toBe(key.id);
    expect((await cache.lookup(secret))?.id).toBe(key.id);
    expect(calls.n).toBe(1);
    clock += 1_000;
    await cache.lookup(secret);
    expect(calls.n).toBe(2);
  });

  it("queries once for concurrent lookups of the same secret", async () => {
    const { repo, calls } = counted(store);
    const cache = createKeyCache(repo, { now });
    const { key, secret } = await store.keys.create({ name: "a", tier: "free" });
    const found = await Promise.all(Array.from({ length: 20 }, () => cache.lookup(secret)));
    expect(found.every((k) => k?.id === key.id)).toBe(true);
    expect(calls.n).toBe(1);
  });

  it("sees a revoke or retier made by another process within the TTL", async () => {
    const cache = createKeyCache(store.keys, { now, ttlMs: 1_000 });
    const other = await openStore({ dataDir: data.dir }); // a second gateway process sharing the file
    const { key, secret } = await store.keys.create({ name: "a", tier: "free" });
    expect((await cache.lookup(secret))?.status).toBe("active");
    await other.keys.update(key.id, { tier: "enterprise" });
    await other.keys.revoke(key.id);
    clock += 999;
    expect((await cache.lookup(secret))?.status).toBe("active");
    clock += 1;
    expect(await cache.lookup(secret)).toMatchObject({ status: "revoked", tier: "enterprise" });
    await other.close();
  });

  it("invalidate(keyId) makes revoke and rotate take effect at once", async () => {
    const cache = createKeyCache(store.keys, { now, ttlMs: 60_000 });
    const { key, secret } = await store.keys.create({ name: "a", tier: "free" });
    await cache.lookup(secret);
    const rotated = await store.keys.rotate(key.id);
    cache.invalidate(key.id);
    expect(await cache.lookup(secret)).toBeUndefined();
    expect((await cache.lookup(rotated.secret))?.id).toBe(key.id);
    await store.keys.revoke(key.id);
    cache.invalidate(key.id);
    expect((await cache.lookup(rotated.secret))?.status).toBe("revoked");
  });

  it("does not cache an answer read before an invalidation that arrived while it was in flight", async () => {
    const { key, secret } = await store.keys.create({ name: "a", tier: "free" });
    const before = await store.keys.findBySecret(secret);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let slow = true;
    // The first query answers with the row as it was, after the revoke (a slow database round trip).
    const repo = {
      async findByHash(hash: string) {
        if (slow) {
          slow = false;
          await gate;
          return before;
        }
        return store.keys.findByHash(hash);
      },
    };
    const cache = createKeyCache(repo, { now, ttlMs: 60_000 });
    const inFlight = cache.lookup(secret);
    await store.keys.revoke(key.id);
    cache.invalidate(key.id);
    // A lookup after the invalidation does not join the stale query.
    expect((await cache.lookup(secret))?.status).toBe("revoked");
    release();
    expect((await inFlight)?.status).toBe("active");
    expect((await cache.lookup(secret))?.status).toBe("revoked");
  });

  it("caches unknown secrets briefly and bounds both maps", async () => {
    const { repo, calls } = counted(store);
    const cache = createKeyCache(repo, { now, maxEntries: 2, maxNegativeEntries: 3 });
    for (let i = 0; i < 5; i++) await cache.lookup("gk-bad");
    expect(calls.n).toBe(1);
    for (let i = 0; i < 10; i++) await cache.lookup(`gk-bad-${i}`);
    expect(cache.size().negative).toBe(3);
    const secrets: string[] = [];
    for (const i of [1, 2, 3])
      secrets.push((await store.keys.create({ name: `k${i}`, tier: "free" })).secret);
    for (const s of secrets) await cache.lookup(s);
    expect(cache.size().positive).toBe(2);
    // The first key was least recently used and got evicted: looking it up queries again.
    const before = calls.n;
    await cache.lookup(secrets[0]!);
    expect(calls.n).toBe(before + 1);
    await cache.lookup(secrets[0]!);
    expect(calls.n).toBe(before + 1);
  });
});
