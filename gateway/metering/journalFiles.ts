/**
 * Per-process usage journals in `<dataDir>/usage-journals/`: which file is whose, and
 * how a process finds and replays the journals of processes that died.
 *
 * Ownership is an OS file lock, not a pid: each journal (segments `<id>.s<n>.journal`)
 * has a sibling `<id>.lock`, a tiny SQLite file its owner holds with `BEGIN EXCLUSIVE` for its whole
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

/** One file of a journal: rows are appended to the newest, older ones wait to be imported. */
export interface Segment {
  readonly path: string;
  readonly fd: number;
}

export interface OwnJournal {
  /** The lock file that marks this process as the owner. */
  readonly lockPath: string;
  /** The segment rows are appended to now. */
  readonly current: Segment;
  /**
   * Starts a new segment and returns the one it replaces (sealed: nothing is appended to
   * it any more). Lets an import run asynchronously while new rows go to the new file.
   */
  seal(): Segment;
  /** Deletes a sealed segment (its descriptor is already closed) once its rows are in the ledger. */
  drop(segment: Segment): void;
  /** Releases the lock and removes every file; only when every row is in the ledger. */
  remove(): void;
  /** Releases the lock and keeps the files for the next process to replay. */
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

/**
 * Creates this process's journal: the lock first, so a journal never exists unowned.
 * Files: `<id>.lock`, and segments `<id>.s<n>.journal` (n counting up).
 */
export function createOwnJournal(dataDir: string, fsync: boolean): OwnJournal {
  const folder = join(dataDir, JOURNAL_FOLDER);
  mkdirSync(folder, { recursive: true });
  const id = `${hostname().replace(/[^\w.-]/g, "_")}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const lockPath = join(folder, `${id}.lock`);
  const lock = tryLock(lockPath);
  if (!lock) throw new Error(`usage journal lock ${lockPath} is held by another process`);
  let n = 0;
  const open = (): Segment => {
    const path = join(folder, `${id}.s${n++}.journal`);
    const fd = openSync(path, "a");
    if (fsync) fsyncFolder(folder);
    return { path, fd };
  };
  let current = open();
  // Sealed segments are closed at once (nothing is appended to them): a long database
  // outage piles up files waiting for import, not open descriptors.
  const sealed = new Set<string>();
  return {
    lockPath,
    get current() {
      return current;
    },
    seal() {
      const done = current;
      current = open();
      closeSync(done.fd);
      sealed.add(done.path);
      return done;
    },
    drop(segment) {
      rmSync(segment.path, { force: true });
      sealed.delete(segment.path);
    },
    remove() {
      closeSync(current.fd);
      for (const path of [...sealed, current.path]) rmSync(path, { force: true });
      lock.close();
      rmSync(lockPath, { force: true });
    },
    abandon() {
      closeSync(current.fd);
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

/** `<id>.s<n>.journal` (or `<id>.journal`, written by versions before segments) → id and n. */
function journalName(name: string): { id: string; n: number } | undefined {
  const m = /^(.+?)(?:\.s(\d+))?\.journal$/.exec(name);
  return m ? { id: m[1]!, n: Number(m[2] ?? -1) } : undefined;
}

/**
 * Imports the journals of every dead process into the ledger and deletes them. Safe to run
 * from several processes at once (each journal's lock admits one replayer) and to repeat
 * after a crash mid-replay: the ledger ignores a request id it already holds.
 */
export async function replayDeadJournals(
  dataDir: string,
  ledger: UsageLedger,
  log?: Logger,
  ownLock?: string,
): Promise<number> {
  const folder = join(dataDir, JOURNAL_FOLDER);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return 0;
    throw err;
  }
  const byOwner = new Map<string, { name: string; n: number }[]>();
  for (const name of names) {
    const parsed = journalName(name);
    if (!parsed) continue;
    const files = byOwner.get(parsed.id) ?? [];
    files.push({ name, n: parsed.n });
    byOwner.set(parsed.id, files);
  }
  let replayed = 0;
  for (const [id, files] of byOwner) {
    const lockPath = join(folder, `${id}.lock`);
    if (lockPath === ownLock) continue;
    const lock = tryLock(lockPath);
    if (!lock) continue; // its owner is alive
    try {
      files.sort((a, b) => a.n - b.n);
      const rows = files.flatMap((f) => readJournal(join(folder, f.name), log));
      await ledger.recordMany(rows);
      for (const f of files) rmSync(join(folder, f.name), { force: true });
      replayed += rows.length;
      if (rows.length)
        log?.info({ journal: id, rows: rows.length }, "replayed a dead process's usage journal");
    } finally {
      lock.close();
    }
    rmSync(lockPath, { force: true });
  }
  return replayed;
}

/** Imports and empties the pre-upgrade shared journal, if one is left. */
export async function replayLegacyJournal(
  dataDir: string,
  ledger: UsageLedger,
  log?: Logger,
): Promise<number> {
  const path = join(dataDir, LEGACY_JOURNAL);
  const rows = readJournal(path, log);
  if (rows.length) await ledger.recordMany(rows);
  rmSync(path, { force: true });
  return rows.length;
}
