import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toGatewayError } from "../errors.ts";
import { InvalidInput, NotFound } from "./errors.ts";
import { openStore, type Store } from "./index.ts";
import { hashSecret, keyState } from "./keys.ts";
import { runMigrations } from "./sqlite/database.ts";
import { sqliteMigrations } from "./sqlite/migrations.ts";
import { tempDataDir } from "./testing.ts";

let data: ReturnType<typeof tempDataDir>;
let store: Store;

beforeEach(() => {
  data = tempDataDir();
  store = openStore({ dataDir: `${data.dir}/nested/folder` });
});

afterEach(() => {
  store.close();
  data.remove();
});

/** The store speaks domain errors (the HTTP layer maps them): 404 ↔ NotFound, 400 ↔ InvalidInput. */
function expectStoreError(fn: () => unknown, status: 400 | 404, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(status === 404 ? NotFound : InvalidInput);
    expect((err as Error).message).toMatch(pattern);
    expect(toGatewayError(err).status).toBe(status);
    return;
  }
  throw new Error("expected a store error");
}

describe("openStore", () => {
  it("creates the folder and opens the file in WAL mode with the durability pragmas", () => {
    const db = new Database(store.location, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    expect(store.location).toMatch(/nested\/folder\/gateway\.sqlite$/);
  });

  it("runs each migration once; reopening does not re-run them", () => {
    const read = () => {
      const db = new Database(store.location, { readonly: true });
      const rows = db
        .prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
        .all();
      db.close();
      return rows;
    };
    const first = read();
    expect(first.map((r) => (r as { version: number }).version)).toEqual(
      sqliteMigrations.map((m) => m.version),
    );
    store.close();
    store = openStore({ dataDir: `${data.dir}/nested/folder` });
    expect(read()).toEqual(first);

    const db = new Database(store.location);
    expect(runMigrations(db, sqliteMigrations)).toEqual([]);
    db.close();
  });

  it("rolls back a failing migration and records nothing for it", () => {
    const db = new Database(":memory:");
    const broken = [
      ...sqliteMigrations,
      { version: 99, name: "broken", sql: "CREATE TABLE x (a); SELECT nope" },
    ];
    expect(() => runMigrations(db, broken)).toThrow();
    const versions = db.prepare("SELECT version FROM schema_migrations").pluck().all();
    expect(versions).toEqual(sqliteMigrations.map((m) => m.version));
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'x'").get()).toBeUndefined();
    db.close();
  });
});

describe("keys", () => {
  it("issues gk- secrets of at least 128 bits and stores only their hash", () => {
    const { key, secret } = store.keys.create({ name: "ci", tier: "free", models: ["kimi-k2.5"] });
    expect(secret).toMatch(/^gk-[A-Za-z0-9_-]{32}$/);
    expect(key).toMatchObject({ name: "ci", tier: "free", models: ["kimi-k2.5"], status: "active" });
    expect(key.id).toMatch(/^key_[0-9a-f]{20}$/);
    expect(key.prefix).toBe(secret.slice(0, 8));
    expect(key.expiresAt).toBeNull();
    expect(key.revokedAt).toBeNull();
    store.close();
    // The raw secret appears nowhere in the file (nor in the WAL that holds recent commits).
    for (const file of [store.location, `${store.location}-wal`]) {
      let bytes = "";
      try {
        bytes = readFileSync(file, "latin1");
      } catch {}
      expect(bytes.includes(secret)).toBe(false);
      expect(bytes.includes(secret.slice(3))).toBe(false);
    }
    store = openStore({ dataDir: `${data.dir}/nested/folder` });
    expect(store.keys.findBySecret(secret)?.id).toBe(key.id);
    expect(store.keys.findByHash(hashSecret(secret))?.id).toBe(key.id);
  });

  it("finds by secret, gets by id and lists by status", () => {
    const a = store.keys.create({ name: "a", tier: "free" });
    const b = store.keys.create({ name: "b", tier: "standard", expiresAt: Date.now() + 60_000 });
    expect(store.keys.findBySecret(a.secret)).toEqual(a.key);
    expect(store.keys.findBySecret("gk-nope")).toBeUndefined();
    expect(store.keys.get(b.key.id)).toEqual(b.key);
    expect(store.keys.get("key_missing")).toBeUndefined();
    store.keys.revoke(a.key.id);
    expect(store.keys.list().map((k) => k.name)).toEqual(["a", "b"]);
    expect(store.keys.list({ status: "active" }).map((k) => k.name)).toEqual(["b"]);
    expect(store.keys.list({ status: "revoked" }).map((k) => k.name)).toEqual(["a"]);
  });

  it("updates name, tier, models and expiry; null models means the tier's models", () => {
    const { key } = store.keys.create({ name: "a", tier: "free", models: ["m1"] });
    const updated = store.keys.update(key.id, {
      tier: "enterprise",
      models: null,
      expiresAt: 1_900_000_000_000,
    });
    expect(updated).toMatchObject({
      name: "a",
      tier: "enterprise",
      models: null,
      expiresAt: 1_900_000_000_000,
    });
    expect(store.keys.update(key.id, { name: "renamed" })).toMatchObject({
      name: "renamed",
      tier: "enterprise",
    });
    expect(store.keys.update(key.id, { models: ["m2", "m2", "m3"] }).models).toEqual(["m2", "m3"]);
  });

  it("revokes idempotently; the record reports revoked so auth refuses it", () => {
    const { key, secret } = store.keys.create({ name: "a", tier: "free" });
    const revoked = store.keys.revoke(key.id);
    expect(revoked.status).toBe("revoked");
    expect(revoked.revokedAt).toBeTypeOf("number");
    expect(store.keys.revoke(key.id)).toEqual(revoked);
    const found = store.keys.findBySecret(secret);
    expect(found && keyState(found)).toBe("revoked");
  });

  it("rotates: new secret works, old one stops at once; revoked keys cannot rotate", () => {
    const first = store.keys.create({ name: "a", tier: "free" });
    const second = store.keys.rotate(first.key.id);
    expect(second.secret).not.toBe(first.secret);
    expect(second.key.id).toBe(first.key.id);
    expect(second.key.prefix).toBe(second.secret.slice(0, 8));
    expect(store.keys.findBySecret(first.secret)).toBeUndefined();
    expect(store.keys.findBySecret(second.secret)?.id).toBe(first.key.id);
    store.keys.revoke(first.key.id);
    expectStoreError(() => store.keys.rotate(first.key.id), 400, /revoked/);
  });

  it("reports expiry through keyState", () => {
    const { key } = store.keys.create({ name: "a", tier: "free", expiresAt: 1_000 });
    expect(keyState(key, 999)).toBe("active");
    expect(keyState(key, 1_000)).toBe("expired");
  });

  it("rejects invalid input with 400s that name the field, and unknown ids with 404", () => {
    expectStoreError(() => store.keys.create({ name: "", tier: "free" }), 400, /name/);
    expectStoreError(() => store.keys.create({ name: "a", tier: "no spaces" }), 400, /tier/);
    expectStoreError(() => store.keys.create({ name: "a", tier: "free", models: [] }), 400, /models/);
    expectStoreError(() => store.keys.create({ name: "a", tier: "free", expiresAt: 1.5 }), 400, /expiresAt/);
    expectStoreError(() => store.keys.update("key_missing", { name: "x" }), 404, /key_missing/);
    expectStoreError(() => store.keys.revoke("key_missing"), 404, /key_missing/);
    expectStoreError(() => store.keys.rotate("key_missing"), 404, /key_missing/);
    expect(store.keys.list()).toEqual([]);
  });
});
