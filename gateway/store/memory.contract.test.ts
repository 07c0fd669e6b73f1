/**
 * The memory store's contract, on SQLite and on Postgres with pgvector (PGlite's `vector`
 * extension, the real pgvector code, over the wire protocol: harness/pgliteServer.ts).
 * The test Postgres without pgvector gets memory off, and says so.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type PgliteServer, startPgliteServer } from "../../harness/pgliteServer.ts";
import { toGatewayError } from "../errors.ts";
import { parseFilter } from "../memory/filter.ts";
import type { MemoryPut, MemoryRepository } from "../memory/types.ts";
import { normalise } from "../memory/vector.ts";
import { dialects, type TestDatabase } from "./contract.ts";
import { QuotaExceeded } from "./errors.ts";
import { openStore, type Store } from "./index.ts";
import { tempDataDir } from "./testing.ts";

interface MemoryDialect {
  name: string;
  open(): Promise<{ store: Store; reopen(): Promise<Store>; remove(): Promise<void> }>;
}

let pglite: PgliteServer | undefined;
afterAll(async () => {
  await pglite?.stop();
});

const memoryDialects: MemoryDialect[] = [
  {
    name: "sqlite",
    async open() {
      const data = tempDataDir();
      return {
        store: await openStore({ dataDir: data.dir }),
        reopen: () => openStore({ dataDir: data.dir }),
        remove: async () => data.remove(),
      };
    },
  },
  {
    name: "postgres + pgvector (PGlite)",
    async open() {
      // One PGlite per file: each test drops the tables' rows instead of making a database.
      pglite ??= await startPgliteServer();
      const url = pglite.url;
      const data = tempDataDir();
      const store = await openStore({ dataDir: data.dir, databaseUrl: url });
      const { default: pg } = await import("pg");
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query("DELETE FROM memory_items");
      await client.end();
      return {
        store,
        reopen: () => openStore({ dataDir: data.dir, databaseUrl: url }),
        remove: async () => data.remove(),
      };
    },
  },
];

/** A unit vector in 8 dimensions pointing mostly along `axis`, nudged towards `towards`. */
function vec(axis: number, towards = (axis + 1) % 8, nudge = 0): Float32Array {
  const v = new Array(8).fill(0);
  v[axis] = 1;
  v[towards] += nudge;
  return normalise(v);
}

const NOW = 1_800_000_000_000;

function put(overrides: Partial<MemoryPut> = {}): MemoryPut {
  return {
    keyId: "key_a",
    namespace: "notes",
    key: "k1",
    value: "hello",
    metadata: {},
    embedding: vec(0),
    embeddingModel: "emb",
    expiresAt: null,
    now: NOW,
    maxItems: 1_000,
    ...overrides,
  };
}

describe.each(memoryDialects)("memory store contract: $name", (dialect) => {
  let opened: Awaited<ReturnType<MemoryDialect["open"]>>;
  let store: Store;
  let memory: MemoryRepository;

  beforeEach(async () => {
    opened = await dialect.open();
    store = opened.store;
    memory = store.memory!;
    expect(memory).toBeDefined();
  });
  afterEach(async () => {
    await store.close();
    await opened.remove();
  });

  it("puts, gets, replaces (keeping created_at) and deletes an item", async () => {
    const first = await memory.put(put({ metadata: { topic: "greeting", n: 1 } }));
    expect(first.created).toBe(true);
    expect(first.item).toMatchObject({ key: "k1", value: "hello", metadata: { topic: "greeting", n: 1 } });
    const got = await memory.get("key_a", "notes", "k1", NOW);
    expect(got?.value).toBe("hello");
    expect(Array.from(got!.embedding)).toEqual(Array.from(vec(0)).map((x) => expect.closeTo(x, 6)));
    const second = await memory.put(put({ value: "bye", embedding: vec(1), now: NOW + 5 }));
    expect(second.created).toBe(false);
    expect(second.item.createdAt).toBe(NOW);
    expect(second.item.updatedAt).toBe(NOW + 5);
    expect((await memory.get("key_a", "notes", "k1", NOW))?.value).toBe("bye");
    expect(await memory.delete("key_a", "notes", "k1", NOW)).toBe(true);
    expect(await memory.get("key_a", "notes", "k1", NOW)).toBeUndefined();
    expect(await memory.delete("key_a", "notes", "k1", NOW)).toBe(false);
  });

  it("keeps every key's items to itself", async () => {
    await memory.put(put());
    expect(await memory.get("key_b", "notes", "k1", NOW)).toBeUndefined();
    expect(await memory.delete("key_b", "notes", "k1", NOW)).toBe(false);
    expect((await memory.list("key_b", "notes", { limit: 10, now: NOW })).items).toEqual([]);
    const q = { namespace: "notes", query: vec(0), topK: 5, filter: [], now: NOW };
    expect(await memory.search({ ...q, keyId: "key_b" })).toEqual([]);
    expect(await memory.search({ ...q, keyId: "key_a" })).toHaveLength(1);
    expect(await memory.get("key_a", "notes", "k1", NOW)).toBeDefined();
  });

  it("lists in key order, page by page, with a cursor", async () => {
    for (const key of ["c", "a", "e", "b", "d"]) await memory.put(put({ key }));
    await memory.put(put({ key: "other-ns", namespace: "elsewhere" }));
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 5; page++) {
      const res = await memory.list("key_a", "notes", { limit: 2, now: NOW, ...(after ? { after } : {}) });
      seen.push(...res.items.map((i) => i.key));
      if (!res.nextCursor) break;
      after = res.nextCursor;
    }
    expect(seen).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("searches best first with cosine scores", async () => {
    await memory.put(put({ key: "x", embedding: vec(0) }));
    await memory.put(put({ key: "near", embedding: vec(1, 0, 0.5) }));
    await memory.put(put({ key: "far", embedding: normalise([0, -1, 0, 0, 0, 0, 0, 1]) }));
    const hits = await memory.search({
      keyId: "key_a",
      namespace: "notes",
      query: vec(1),
      topK: 2,
      filter: [],
      now: NOW,
    });
    expect(hits.map((h) => h.item.key)).toEqual(["near", "x"]);
    expect(hits[0]!.score).toBeCloseTo(1 / Math.sqrt(1.25), 4);
    expect(hits[1]!.score).toBeCloseTo(0, 4);
    const all = await memory.search({
      keyId: "key_a",
      namespace: "notes",
      query: vec(1),
      topK: 10,
      filter: [],
      now: NOW,
    });
    expect(all.map((h) => h.item.key)).toEqual(["near", "x", "far"]);
    expect(all[2]!.score).toBeCloseTo(-Math.SQRT1_2, 4);
  });

  it("applies equality and $in filters before top-k, not after", async () => {
    // The three nearest items are all `blue`; a filter for red must still return two items.
    for (let i = 0; i < 3; i++) {
      await memory.put(put({ key: `blue${i}`, embedding: vec(0, 1, i * 0.1), metadata: { color: "blue" } }));
    }
    await memory.put(put({ key: "red1", embedding: vec(4), metadata: { color: "red", size: 1 } }));
    await memory.put(put({ key: "red2", embedding: vec(5), metadata: { color: "red", size: 2 } }));
    await memory.put(put({ key: "green", embedding: vec(6), metadata: { color: "green", size: 2 } }));
    const search = (filter: unknown, topK = 2) =>
      memory
        .search({
          keyId: "key_a",
          namespace: "notes",
          query: vec(0),
          topK,
          filter: parseFilter(filter),
          now: NOW,
        })
        .then((hits) => hits.map((h) => h.item.key).sort());
    expect(await search({ color: "red" })).toEqual(["red1", "red2"]);
    expect(await search({ color: { $eq: "red" }, size: 2 })).toEqual(["red2"]);
    expect(await search({ color: { $in: ["red", "green"] } }, 3)).toEqual(["green", "red1", "red2"]);
    expect(await search({ size: "2" })).toEqual([]); // "2" is not 2
    expect(await search({ color: "purple" })).toEqual([]);
  });

  it("hides expired items and sweeps them", async () => {
    await memory.put(put({ key: "short", expiresAt: NOW + 1_000 }));
    await memory.put(put({ key: "long" }));
    const later = NOW + 1_001;
    expect(await memory.get("key_a", "notes", "short", NOW)).toBeDefined();
    expect(await memory.get("key_a", "notes", "short", later)).toBeUndefined();
    expect((await memory.list("key_a", "notes", { limit: 10, now: later })).items.map((i) => i.key)).toEqual([
      "long",
    ]);
    const hits = await memory.search({
      keyId: "key_a",
      namespace: "notes",
      query: vec(0),
      topK: 5,
      filter: [],
      now: later,
    });
    expect(hits.map((h) => h.item.key)).toEqual(["long"]);
    expect(await memory.sweepExpired(later, 100)).toBe(1);
    expect(await memory.sweepExpired(later, 100)).toBe(0);
    // A re-created key after expiry is new: created again, a fresh created_at.
    const again = await memory.put(put({ key: "short", now: later }));
    expect(again.created).toBe(true);
    expect(again.item.createdAt).toBe(later);
  });

  it("refuses a put beyond the namespace quota, counting only live items, and changes nothing", async () => {
    await memory.put(put({ key: "a", maxItems: 2 }));
    await memory.put(put({ key: "b", maxItems: 2, expiresAt: NOW + 10 }));
    const err = await memory.put(put({ key: "c", maxItems: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceeded);
    expect(toGatewayError(err).status).toBe(403);
    expect(toGatewayError(err).message).toMatch(/already holds 2 items/);
    expect(await memory.get("key_a", "notes", "c", NOW)).toBeUndefined();
    expect(await memory.count("key_a", "notes", NOW)).toBe(2);
    expect(await memory.count("key_a", "notes", NOW + 10)).toBe(1);
    // Replacing an existing item is not a new one; an expired one no longer counts.
    expect((await memory.put(put({ key: "a", value: "v2", maxItems: 2 }))).created).toBe(false);
    expect((await memory.put(put({ key: "c", maxItems: 2, now: NOW + 11 }))).created).toBe(true);
    // Another namespace and another key have their own counts.
    await memory.put(put({ key: "c", namespace: "other", maxItems: 2 }));
    await memory.put(put({ key: "c", keyId: "key_b", maxItems: 2 }));
  });

  it("finds what another process (another connection) wrote and deleted, and survives a restart", async () => {
    await memory.put(put({ key: "mine", embedding: vec(0) }));
    const q = { keyId: "key_a", namespace: "notes", query: vec(2), topK: 5, filter: [], now: NOW };
    expect((await memory.search(q)).map((h) => h.item.key)).toEqual(["mine"]);
    const other = await opened.reopen();
    try {
      await other.memory!.put(put({ key: "theirs", embedding: vec(2) }));
      expect((await memory.search(q)).map((h) => h.item.key)).toEqual(["theirs", "mine"]);
      await other.memory!.delete("key_a", "notes", "mine", NOW);
      expect((await memory.search(q)).map((h) => h.item.key)).toEqual(["theirs"]);
    } finally {
      await other.close();
    }
    await store.close();
    store = await opened.reopen();
    memory = store.memory!;
    expect((await memory.search(q)).map((h) => h.item.key)).toEqual(["theirs"]);
  });
});

describe("memory on a Postgres without pgvector", () => {
  let db: TestDatabase;
  afterEach(async () => db?.remove());

  it("records migration 5 without memory tables and opens the store with memory off", async () => {
    const postgres = dialects.find((d) => d.name === "postgres")!;
    db = await postgres.database();
    const store = await db.open();
    try {
      expect(store.memory).toBeUndefined();
      const versions = (await db.sql("SELECT version FROM schema_migrations ORDER BY version")).map(
        (r) => r["version"],
      );
      expect(versions).toContain(5);
      expect(await db.sql("SELECT to_regclass('memory_items')::text AS t")).toEqual([{ t: null }]);
    } finally {
      await store.close();
    }
  });
});

describe("memory on a Postgres where pgvector was created after migration 5", () => {
  it("creates the memory tables at the next start", async () => {
    pglite ??= await startPgliteServer();
    const data = tempDataDir();
    const first = await openStore({ dataDir: data.dir, databaseUrl: pglite.url });
    await first.close();
    // What migration 5 leaves when it could not create the extension: no tables.
    const { default: pg } = await import("pg");
    const client = new pg.Client({ connectionString: pglite.url });
    await client.connect();
    await client.query("DROP TABLE memory_items");
    await client.end();
    const store = await openStore({ dataDir: data.dir, databaseUrl: pglite.url });
    try {
      expect(store.memory).toBeDefined();
      await store.memory!.put(put());
      expect((await store.memory!.get("key_a", "notes", "k1", NOW))?.value).toBe("hello");
    } finally {
      await store.close();
      data.remove();
    }
  });
});
