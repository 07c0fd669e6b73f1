/**
 * Opening the SQLite file: pragmas chosen for a gateway that must not lose a finished
 * request's usage row, and numbered migrations that run once per database.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { assertSchemaKnown } from "../migrations.ts";
import { type Migration, sqliteMigrations } from "./migrations.ts";

export type SqliteDatabase = Database.Database;

export interface OpenSqliteOptions {
  dataDir: string;
  fileName?: string;
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** `NORMAL` (default) survives process crashes; `FULL` also host crashes, at ~1 fsync per commit. */
  synchronous?: "NORMAL" | "FULL";
  migrations?: readonly Migration[];
}

export function openSqlite(opts: OpenSqliteOptions): { db: SqliteDatabase; file: string; applied: number[] } {
  mkdirSync(opts.dataDir, { recursive: true });
  const file = path.join(opts.dataDir, opts.fileName ?? "gateway.sqlite");
  const db = new Database(file);
  let applied: number[];
  try {
    // WAL: readers never block the writer, and a commit is one append to the -wal file.
    db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode skips the fsync on each commit. It still survives a SIGKILL of the
    // gateway: a committed transaction's WAL frames have been written with write(2), so they
    // sit in the OS page cache, which the kernel flushes whatever happens to our process.
    // Only an OS crash or power loss can drop the last commits (the database stays
    // consistent). FULL syncs the WAL on every commit: the fsync-per-row metering mode
    // needs it, or a batch imported from a synced journal could be lost after the
    // journal was truncated.
    db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
    // Several gateway processes may share the file; wait for the write lock instead of failing.
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5_000}`);
    db.pragma("foreign_keys = ON");
    applied = runMigrations(db, opts.migrations ?? sqliteMigrations, file);
  } catch (err) {
    db.close();
    throw err;
  }
  return { db, file, applied };
}

/**
 * Applies every migration not yet recorded, each in its own IMMEDIATE transaction (takes
 * the write lock first), so two processes starting on the same file cannot both apply one:
 * the second sees the version recorded and skips it. Throws SchemaTooNew, before changing
 * anything, when a newer gateway has migrated the file.
 */
export function runMigrations(
  db: SqliteDatabase,
  migrations: readonly Migration[],
  location = "(sqlite)",
): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const isApplied = db.prepare<[number], { version: number }>(
    "SELECT version FROM schema_migrations WHERE version = ?",
  );
  const recordApplied = db.prepare<[number, string, number]>(
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
  );
  const found = db.prepare<[], { v: number | null }>("SELECT max(version) AS v FROM schema_migrations").get();
  assertSchemaKnown(location, found?.v ?? 0, migrations);
  const applied: number[] = [];
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (const migration of sorted) {
    db.transaction(() => {
      if (isApplied.get(migration.version)) return;
      db.exec(migration.sql);
      recordApplied.run(migration.version, migration.name, Date.now());
      applied.push(migration.version);
    }).immediate();
  }
  return applied;
}
