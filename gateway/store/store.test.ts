import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "./index.ts";
import { runMigrations } from "./sqlite/database.ts";
import { sqliteMigrations } from "./sqlite/migrations.ts";
import { tempDataDir } from "./testing.ts";

// Keys and migrations on both dialects: store.contract.test.ts. Here: what only SQLite has (a file).
let data: ReturnType<typeof tempDataDir>;
let store: Store;

beforeEach(async () => {
  data = tempDataDir();
  store = await openStore({ dataDir: `${data.dir}/nested/folder` });
});

afterEach(async () => {
  await store.close();
  data.remove();
});

describe("openStore (SQLite)", () => {
  it("creates the folder and opens the file in WAL mode with the durability pragmas", () => {
    const db = new Database(store.location, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    expect(store.location).toMatch(/nested\/folder\/gateway\.sqlite$/);
    expect(store.dialect).toBe("sqlite");
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

  it("never writes a raw secret to the file (nor to the WAL that holds recent commits)", async () => {
    const { secret } = await store.keys.create({ name: "ci", tier: "free" });
    await store.close();
    for (const file of [store.location, `${store.location}-wal`]) {
      let bytes = "";
      try {
        bytes = readFileSync(file, "latin1");
      } catch {}
      expect(bytes.includes(secret)).toBe(false);
      expect(bytes.includes(secret.slice(3))).toBe(false);
    }
    store = await openStore({ dataDir: `${data.dir}/nested/folder` });
    expect(await store.keys.findBySecret(secret)).toBeDefined();
  });
});
