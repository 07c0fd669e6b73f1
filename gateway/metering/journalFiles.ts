/**
 * Per-process usage journals in `<dataDir>/usage-journals/`: which file is whose, and
 * how a process finds and replays the journals of processes that died.
 *
 * Ownership is an OS file lock, not a pid: each journal `<id>.journal` has a sibling
 * `<id>.lock`, a tiny SQLite file its owner holds with `BEGIN EXCLUSIVE` for its whole
 * life. SQLite's lock is a POSIX advisory lock, which the kernel drops when the process
 * dies in any way (SIGKILL, OOM kill), so "I can take this lock" means "its owner is
 * dead". No pid reuse, no clock, no heartbeat.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Logger } from "pino";
import type { UsageLedger, UsageRow } from "../store/index.ts";

export const JOURNAL_FOLDER = "usage-journals";
/** The single shared journal of versions before per-process journals; replayed once at start. */
export const LEGACY_JOURNAL = "usage.journal";

export interface OwnJournal {
  readonly path: string;
  readonly fd: number;
  /** Releases the lock and removes both files; only when every row is in the ledger. */
  remove(): void;
  /** Releases the lock and keeps the journal for the next process to replay. */
  abandon(): void;
}

/** Holds `path`'s lock, or returns undefined when a live process holds it. */
function tryLock(path: string): Database.Database | undefined {
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") return undefined;
    throw err;
  }
}

/** Creates this process's journal: the lock first, so a journal never exists unowned. */
export function createOwnJournal(dataDir: string, fsync: boolean): OwnJournal {
  const folder = join(dataDir, JOURNAL_FOLDER);
  mkdirSync(folder, { recursive: true });
  const id = `${hostname().replace(/[^\w.-]/g, "_")}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const lockPath = join(folder, `${id}.lock`);
  const lock = tryLock(lockPath);
  if (!lock) throw new Error(`usage journal lock ${lockPath} is held by another process`);
  const path = join(folder, `${id}.journal`);
  const fd = openSync(path, "a");
  if (fsync) fsyncFolder(folder);
  return {
    path,
    fd,
    remove() {
      closeSync(fd);
      rmSync(path, { force: true });
      lock.close();
      rmSync(lockPath, { force: true });
    },
    abandon() {
      closeSync(fd);
      lock.close();
    },
  };
}

/** A new file's name is durable only once its folder is synced (for fsync-per-row mode). */
function fsyncFolder(folder: string): void {
  const fd = openSync(folder, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Parses journal lines; a line cut short by a crash was never acknowledged (its write had not returned). */
export function readJournal(path: string, log?: Logger): UsageRow[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return [];
    throw err;
  }
  const rows: UsageRow[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      rows.push(JSON.parse(line) as UsageRow);
    } catch {
      log?.warn({ journal: path }, "skipped a torn usage journal line");
    }
  }
  return rows;
}

/**
 * Imports the journal of every dead process into the ledger and deletes it. Safe to run
 * from several processes at once (each journal's lock admits one replayer) and to repeat
 * after a crash mid-replay: the ledger ignores a request id it already holds.
 */
export function replayDeadJournals(dataDir: string, ledger: UsageLedger, log?: Logger, own?: string): number {
  const folder = join(dataDir, JOURNAL_FOLDER);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return 0;
    throw err;
  }
  let replayed = 0;
  for (const name of names) {
    if (!name.endsWith(".journal")) continue;
    const path = join(folder, name);
    if (path === own) continue;
    const lockPath = path.replace(/\.journal$/, ".lock");
    const lock = tryLock(lockPath);
    if (!lock) continue; // its owner is alive
    try {
      const rows = readJournal(path, log);
      ledger.recordMany(rows);
      rmSync(path, { force: true });
      replayed += rows.length;
      if (rows.length)
        log?.info({ journal: name, rows: rows.length }, "replayed a dead process's usage journal");
    } finally {
      lock.close();
    }
    rmSync(lockPath, { force: true });
  }
  return replayed;
}

/** Imports and empties the pre-upgrade shared journal, if one is left. */
export function replayLegacyJournal(dataDir: string, ledger: UsageLedger, log?: Logger): number {
  const path = join(dataDir, LEGACY_JOURNAL);
  const rows = readJournal(path, log);
  if (rows.length) ledger.recordMany(rows);
  rmSync(path, { force: true });
  return rows.length;
}
