import { fdatasyncSync, writeSync } from "node:fs";
import type { Logger } from "pino";
import type { UsageLedger, UsageQuery, UsageRow, UsageSummaryRow } from "../store/index.ts";
import {
  createOwnJournal,
  type OwnJournal,
  replayDeadJournals,
  replayLegacyJournal,
  type Segment,
} from "./journalFiles.ts";

export interface UsageJournalOptions {
  /** The store's data folder; journals live in its `usage-journals/`. */
  dataDir: string;
  /** Rows are moved into the ledger at least this often… */
  flushIntervalMs?: number;
  /** …and whenever this many are waiting. */
  maxPending?: number;
  /** How often journals of dead processes are looked for (also once at start). */
  replayIntervalMs?: number;
  /**
   * fdatasync the journal after every row, so an acknowledged row survives a host crash
   * or power loss too (the ledger must then commit with synchronous=FULL). Costs one
   * disk flush per request: see the README's metering section for the measured price.
   */
  fsync?: boolean;
  /**
   * Imports a sealed segment (whose rows are `rows`) into the ledger; by default
   * `ledger.recordMany(rows)`. The SQLite worker reads the file itself (sqliteImporter.ts).
   */
  importSegment?: (path: string, rows: readonly UsageRow[]) => Promise<void>;
}

/**
 * A write-ahead journal in front of the usage ledger, one per process. A finished
 * request's row is appended to this process's journal with one synchronous write()
 * (a few µs; the bytes sit in the OS page cache, so they survive any crash of the
 * gateway process, though not of the host unless `fsync` is on) and moved into the
 * ledger (SQLite or Postgres) in batches, one transaction (one round trip) per batch.
 * The request path never waits for the database.
 *
 * Crash safety: a flush seals the current journal segment (new rows go to a fresh one
 * while the import runs, asynchronously), imports the sealed segment's rows, then deletes
 * it; no other process ever touches our files while we live (see journalFiles.ts). A
 * process that dies leaves its segments behind; the next process to start on the same
 * data folder (or the next periodic scan of a live one) replays them. A crash between
 * commit and delete replays rows the ledger already has; it ignores a request id it has
 * seen, so nothing is doubled.
 */
export class UsageJournal implements UsageLedger {
  private readonly ledger: UsageLedger;
  private readonly log: Logger | undefined;
  private readonly dataDir: string;
  private readonly maxPending: number;
  private readonly fsync: boolean;
  private readonly importSegment: (path: string, rows: readonly UsageRow[]) => Promise<void>;
  private readonly journal: OwnJournal;
  /** Rows in the current segment, not yet handed to the ledger. */
  private pending: UsageRow[] = [];
  /** Sealed segments whose import has not succeeded yet, oldest first. */
  private readonly sealed: { segment: Segment; rows: UsageRow[] }[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private replaying: Promise<number> | undefined;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly replayTimer: NodeJS.Timeout;

  private constructor(ledger: UsageLedger, opts: UsageJournalOptions, log?: Logger) {
    this.ledger = ledger;
    this.log = log;
    this.dataDir = opts.dataDir;
    this.maxPending = opts.maxPending ?? 500;
    this.fsync = opts.fsync ?? false;
    this.importSegment = opts.importSegment ?? ((_path, rows) => ledger.recordMany(rows));
    this.journal = createOwnJournal(opts.dataDir, this.fsync);
    this.flushTimer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 250);
    this.flushTimer.unref();
    this.replayTimer = setInterval(() => void this.replayDead(), opts.replayIntervalMs ?? 30_000);
    this.replayTimer.unref();
  }

  /** Opens this process's journal after replaying what dead processes (and older versions) left. */
  static async open(ledger: UsageLedger, opts: UsageJournalOptions, log?: Logger): Promise<UsageJournal> {
    await replayLegacyJournal(opts.dataDir, ledger, log);
    const journal = new UsageJournal(ledger, opts, log);
    await journal.replayDead();
    return journal;
  }

  /** The segment rows are appended to now. */
  get path(): string {
    return this.journal.current.path;
  }

  /**
   * Appends the row to the journal synchronously: when this returns (before the promise
   * settles) the row is on its way to disk. The promise is only the ledger interface's;
   * it is already resolved. Throws (synchronously) when the write fails.
   */
  record(row: UsageRow): Promise<void> {
    const fd = this.journal.current.fd;
    writeSync(fd, `${JSON.stringify(row)}\n`);
    if (this.fsync) fdatasyncSync(fd);
    this.pending.push(row);
    if (this.pending.length >= this.maxPending) void this.flush();
    return Promise.resolve();
  }

  recordMany(rows: readonly UsageRow[]): Promise<void> {
    for (const row of rows) void this.record(row);
    return Promise.resolve();
  }

  async summary(query: UsageQuery): Promise<UsageSummaryRow[]> {
    await this.flush();
    return this.ledger.summary(query);
  }

  /**
   * Not flushed first: it is on the request path. This process's own recent turns are
   * remembered by the tiering router itself; other replicas' reach the ledger within an
   * import interval.
   */
  lastServed(keyId: string | null, sessionId: string, requested: string): Promise<string | null> {
    return this.ledger.lastServed(keyId, sessionId, requested);
  }

  async count(): Promise<number> {
    await this.flush();
    return this.ledger.count();
  }

  /** Moves every row recorded so far into the ledger; flushes run one at a time, in order. */
  flush(): Promise<void> {
    if (this.pending.length > 0) {
      this.sealed.push({ segment: this.journal.seal(), rows: this.pending });
      this.pending = [];
    }
    this.flushing = this.flushing.then(() => this.importSealed());
    return this.flushing;
  }

  private async importSealed(): Promise<void> {
    while (this.sealed.length > 0) {
      const batch = this.sealed[0]!;
      try {
        await this.importSegment(batch.segment.path, batch.rows);
      } catch (err) {
        // Keep the rows (they are still in the sealed segment) and try again at the next flush.
        this.log?.error({ err, pending: batch.rows.length }, "could not move usage rows into the ledger");
        return;
      }
      this.journal.drop(batch.segment);
      this.sealed.shift();
    }
  }

  /** Imports journals left by dead processes sharing this data folder. */
  replayDead(): Promise<number> {
    this.replaying ??= replayDeadJournals(this.dataDir, this.ledger, this.log, this.journal.lockPath)
      .catch((err) => {
        this.log?.error({ err }, "could not replay usage journals of dead processes");
        return 0;
      })
      .finally(() => {
        this.replaying = undefined;
      });
    return this.replaying;
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.replayTimer);
    await this.replaying;
    await this.flush();
    // Segments still holding rows (the ledger refused them) stay for the next start to replay.
    if (this.sealed.length === 0 && this.pending.length === 0) this.journal.remove();
    else this.journal.abandon();
  }
}
