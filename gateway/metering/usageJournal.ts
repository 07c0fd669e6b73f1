import { fdatasyncSync, ftruncateSync, writeSync } from "node:fs";
import type { Logger } from "pino";
import type { UsageLedger, UsageQuery, UsageRow, UsageSummaryRow } from "../store/index.ts";
import {
  createOwnJournal,
  type OwnJournal,
  replayDeadJournals,
  replayLegacyJournal,
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
}

/**
 * A write-ahead journal in front of the usage ledger, one per process. A finished
 * request's row is appended to this process's journal with one synchronous write()
 * (a few µs; the bytes sit in the OS page cache, so they survive any crash of the
 * gateway process, though not of the host unless `fsync` is on) and moved into SQLite
 * in batches, one transaction per batch, where index updates are shared by the batch.
 * A synchronous SQLite insert per request cost ~60 µs here, mostly index pages.
 *
 * Crash safety: a batch is committed, then this process's journal is truncated; no
 * other process ever touches it while we live (see journalFiles.ts). A process that
 * dies leaves its journal behind; the next process to start (or the next periodic
 * scan of a live one) replays it. A crash between commit and truncate replays rows
 * the ledger already has; it ignores a request id it has seen, so nothing is doubled.
 */
export class UsageJournal implements UsageLedger {
  private readonly ledger: UsageLedger;
  private readonly dataDir: string;
  private readonly maxPending: number;
  private readonly fsync: boolean;
  private readonly log: Logger | undefined;
  private readonly journal: OwnJournal;
  private pending: UsageRow[] = [];
  private readonly flushTimer: NodeJS.Timeout;
  private readonly replayTimer: NodeJS.Timeout;

  constructor(ledger: UsageLedger, opts: UsageJournalOptions, log?: Logger) {
    this.ledger = ledger;
    this.log = log;
    this.dataDir = opts.dataDir;
    this.maxPending = opts.maxPending ?? 500;
    this.fsync = opts.fsync ?? false;
    replayLegacyJournal(opts.dataDir, ledger, log);
    this.journal = createOwnJournal(opts.dataDir, this.fsync);
    this.replayDead();
    this.flushTimer = setInterval(() => this.flush(), opts.flushIntervalMs ?? 250);
    this.flushTimer.unref();
    this.replayTimer = setInterval(() => this.replayDead(), opts.replayIntervalMs ?? 30_000);
    this.replayTimer.unref();
  }

  /** This process's journal file. */
  get path(): string {
    return this.journal.path;
  }

  record(row: UsageRow): void {
    writeSync(this.journal.fd, `${JSON.stringify(row)}\n`);
    if (this.fsync) fdatasyncSync(this.journal.fd);
    this.pending.push(row);
    if (this.pending.length >= this.maxPending) this.flush();
  }

  recordMany(rows: readonly UsageRow[]): void {
    for (const row of rows) this.record(row);
  }

  summary(query: UsageQuery): UsageSummaryRow[] {
    this.flush();
    return this.ledger.summary(query);
  }

  count(): number {
    this.flush();
    return this.ledger.count();
  }

  /** Moves waiting rows into the ledger. Synchronous: no row can be appended meanwhile. */
  flush(): void {
    if (this.pending.length === 0) return;
    try {
      this.ledger.recordMany(this.pending);
    } catch (err) {
      // Keep the rows (they are still in the journal) and try again at the next flush.
      this.log?.error({ err, pending: this.pending.length }, "could not move usage rows into the ledger");
      return;
    }
    this.pending = [];
    ftruncateSync(this.journal.fd, 0);
  }

  /** Imports journals left by dead processes sharing this data folder. */
  replayDead(): number {
    try {
      return replayDeadJournals(this.dataDir, this.ledger, this.log, this.journal.path);
    } catch (err) {
      this.log?.error({ err }, "could not replay usage journals of dead processes");
      return 0;
    }
  }

  close(): void {
    clearInterval(this.flushTimer);
    clearInterval(this.replayTimer);
    this.flush();
    // A journal still holding rows (the ledger refused them) stays for the next start to replay.
    if (this.pending.length === 0) this.journal.remove();
    else this.journal.abandon();
  }
}
