/**
 * The store's contract, run against every dialect (SQLite and a real Postgres): keys,
 * key-change notices, migrations. Usage: usage.contract.test.ts. A table added later gets
 * its tests here, so both dialects keep one behaviour.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { toGatewayError } from "../errors.ts";
import { dialects, storePerTest } from "./contract.ts";
import { InvalidInput, NotFound } from "./errors.ts";
import { SchemaTooNew } from "./index.ts";
import { hashSecret, keyState } from "./keys.ts";
import { latestVersion } from "./migrations.ts";
import { postgresMigrations } from "./postgres/migrations.ts";
import { sqliteMigrations } from "./sqlite/migrations.ts";

/** The store speaks domain errors (the HTTP layer maps them): 404 ↔ NotFound, 400 ↔ InvalidInput. */
async function expectStoreError(
  fn: () => Promise<unknown>,
  status: 400 | 404,
  pattern: RegExp,
): Promise<void> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "expected a store error").toBeInstanceOf(status === 404 ? NotFound : InvalidInput);
  expect((err as Error).message).toMatch(pattern);
  expect(toGatewayError(err).status).toBe(status);
}

describe.each(dialects)("store contract: $name", (dialect) => {
  const t = storePerTest(dialect);
  const migrations = dialect.name === "sqlite" ? sqliteMigrations : postgresMigrations;

  describe("keys", () => {
    it("issues gk- secrets of at least 128 bits and stores only their hash", async () => {
      const { key, secret } = await t.store.keys.create({ name: "ci", tier: "free", models: ["kimi-k2.5"] });
      expect(secret).toMatch(/^gk-[A-Za-z0-9_-]{32}$/);
      expect(key).toMatchObject({ name: "ci", tier: "free", models: ["kimi-k2.5"], status: "active" });
      expect(key.id).toMatch(/^key_[0-9a-f]{20}$/);
      expect(key.prefix).toBe(secret.slice(0, 8));
      expect(key.expiresAt).toBeNull();
      expect(key.revokedAt).toBeNull();
      const stored = await t.db.sql("SELECT * FROM api_keys");
      expect(JSON.stringify(stored)).not.toContain(secret.slice(3));
      expect(stored[0]?.["secret_hash"]).toBe(hashSecret(secret));
      expect((await t.store.keys.findBySecret(secret))?.id).toBe(key.id);
      expect((await t.store.keys.findByHash(hashSecret(secret)))?.id).toBe(key.id);
    });

    it("finds by secret, gets by id and lists by status, in creation order", async () => {
      const a = await t.store.keys.create({ name: "a", tier: "free" });
      const b = await t.store.keys.create({ name: "b", tier: "standard", expiresAt: Date.now() + 60_000 });
      const c = await t.store.keys.create({ name: "c", tier: "free" });
      expect(await t.store.keys.findBySecret(a.secret)).toEqual(a.key);
      expect(await t.store.keys.findBySecret("gk-nope")).toBeUndefined();
      expect(await t.store.keys.get(b.key.id)).toEqual(b.key);
      expect(await t.store.keys.get("key_missing")).toBeUndefined();
      await t.store.keys.revoke(a.key.id);
      expect((await t.store.keys.list()).map((k) => k.name)).toEqual(["a", "b", "c"]);
      expect((await t.store.keys.list({ status: "active" })).map((k) => k.name)).toEqual(["b", "c"]);
      expect((await t.store.keys.list({ status: "revoked" })).map((k) => k.name)).toEqual(["a"]);
      expect(c.key.createdAt).toBeTypeOf("number");
    });

    it("updates name, tier, models and expiry; null models means the tier's models", async () => {
      const { key } = await t.store.keys.create({ name: "a", tier: "free", models: ["m1"] });
      const updated = await t.store.keys.update(key.id, {
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
      expect(await t.store.keys.update(key.id, { name: "renamed" })).toMatchObject({
        name: "renamed",
        tier: "enterprise",
      });
      expect((await t.store.keys.update(key.id, { models: ["m2", "m2", "m3"] })).models).toEqual([
        "m2",
        "m3",
      ]);
      expect(await t.store.keys.get(key.id)).toMatchObject({ name: "renamed", models: ["m2", "m3"] });
    });

    it("revokes idempotently; the record reports revoked so auth refuses it", async () => {
      const { key, secret } = await t.store.keys.create({ name: "a", tier: "free" });
      const revoked = await t.store.keys.revoke(key.id);
      expect(revoked.status).toBe("revoked");
      expect(revoked.revokedAt).toBeTypeOf("number");
      expect(await t.store.keys.revoke(key.id)).toEqual(revoked);
      const found = await t.store.keys.findBySecret(secret);
      expect(found && keyState(found)).toBe("revoked");
    });

    it("rotates: new secret works, old one stops at once; revoked keys cannot rotate", async () => {
      const first = await t.store.keys.create({ name: "a", tier: "free" });
      const second = await t.store.keys.rotate(first.key.id);
      expect(second.secret).not.toBe(first.secret);
      expect(second.key.id).toBe(first.key.id);
      expect(second.key.prefix).toBe(second.secret.slice(0, 8));
      expect(await t.store.keys.findBySecret(first.secret)).toBeUndefined();
      expect((await t.store.keys.findBySecret(second.secret))?.id).toBe(first.key.id);
      await t.store.keys.revoke(first.key.id);
      await expectStoreError(() => t.store.keys.rotate(first.key.id), 400, /revoked/);
    });

    it("reports expiry through keyState", async () => {
      const { key } = await t.store.keys.create({ name: "a", tier: "free", expiresAt: 1_000 });
      expect(keyState(key, 999)).toBe("active");
      expect(keyState(key, 1_000)).toBe("expired");
    });

    it("rejects invalid input with 400s that name the field, and unknown ids with 404", async () => {
      await expectStoreError(() => t.store.keys.create({ name: "", tier: "free" }), 400, /name/);
      await expectStoreError(() => t.store.keys.create({ name: "a", tier: "no spaces" }), 400, /tier/);
      await expectStoreError(
        () => t.store.keys.create({ name: "a", tier: "free", models: [] }),
        400,
        /models/,
      );
      await expectStoreError(
        () => t.store.keys.create({ name: "a", tier: "free", expiresAt: 1.5 }),
        400,
        /expiresAt/,
      );
      await expectStoreError(() => t.store.keys.update("key_missing", { name: "x" }), 404, /key_missing/);
      await expectStoreError(() => t.store.keys.revoke("key_missing"), 404, /key_missing/);
      await expectStoreError(() => t.store.keys.rotate("key_missing"), 404, /key_missing/);
      expect(await t.store.keys.list()).toEqual([]);
    });

    it("announces update, revoke and rotate to key-change listeners", async () => {
      // With Postgres a second connection stands for another replica: it hears the changes too.
      const other = dialect.name === "postgres" ? await t.db.open() : t.store;
      const heard: (string | null)[] = [];
      const unsubscribe = other.onKeyChange((id) => heard.push(id));
      const { key } = await t.store.keys.create({ name: "a", tier: "free" });
      await t.store.keys.update(key.id, { tier: "standard" });
      await t.store.keys.rotate(key.id);
      await t.store.keys.revoke(key.id);
      await t.store.keys.revoke(key.id); // already revoked: nothing changed, nothing announced
      await expect.poll(() => heard.length).toBe(3);
      expect(heard).toEqual([key.id, key.id, key.id]);
      unsubscribe();
      if (other !== t.store) await other.close();
    });
  });

  describe("migrations", () => {
    const versions = async () =>
      (await t.db.sql("SELECT version FROM schema_migrations ORDER BY version")).map((r) =>
        Number(r["version"]),
      );

    it("applies each migration once; reopening applies nothing again", async () => {
      const first = await t.db.sql(
        "SELECT version, name, applied_at FROM schema_migrations ORDER BY version",
      );
      expect(first.map((r) => Number(r["version"]))).toEqual(migrations.map((m) => m.version));
      await t.store.close();
      t.store = await t.db.open();
      expect(
        await t.db.sql("SELECT version, name, applied_at FROM schema_migrations ORDER BY version"),
      ).toEqual(first);
    });

    it("refuses to open a database migrated by a newer gateway, naming both versions", async () => {
      const known = latestVersion(migrations);
      await t.db.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
        known + 1,
        "from the future",
        Date.now(),
      ]);
      const err = await t.db.open().then(
        (s) => s.close().then(() => undefined),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SchemaTooNew);
      expect((err as Error).message).toContain(
        `schema version ${known + 1}, newer than this gateway knows (${known})`,
      );
      expect(await versions()).toEqual([...migrations.map((m) => m.version), known + 1]);
    });

    it("two processes starting at once on an empty database apply each migration exactly once", async () => {
      await t.store.close();
      const fresh = await dialect.database();
      try {
        const child = fileURLToPath(new URL("./openStoreChild.ts", import.meta.url));
        const run = () =>
          new Promise<{ code: number | null; output: string }>((resolve) => {
            const p = spawn(process.execPath, [child, fresh.dataDir, fresh.databaseUrl ?? ""], {
              stdio: ["ignore", "pipe", "pipe"],
            });
            let output = "";
            p.stdout.on("data", (d: Buffer) => (output += d.toString()));
            p.stderr.on("data", (d: Buffer) => (output += d.toString()));
            p.once("close", (code) => resolve({ code, output }));
          });
        const results = await Promise.all([run(), run(), run()]);
        for (const r of results) expect(r, r.output).toMatchObject({ code: 0 });
        const rows = await fresh.sql("SELECT version FROM schema_migrations ORDER BY version");
        expect(rows.map((r) => Number(r["version"]))).toEqual(migrations.map((m) => m.version));
        // Each child reports what it applied: together, every migration once.
        const applied = results.flatMap((r) => JSON.parse(r.output.trim().split("\n").at(-1)!) as number[]);
        expect(applied.sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
      } finally {
        await fresh.remove();
        t.store = await t.db.open();
      }
    });
  });
});
