import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { UsageLedger, UsageQuery, UsageRow, UsageSummaryRow } from "../store/index.ts";

export interface UsageJournalOptions {
  /** Folder for `usage.journal` (the store's data folder). */
  dataDir: string;
  /** Rows are moved into the ledger at least this often… */
  flushIntervalMs?: number;
  /** …and whenever this many are waiting. */
  maxPending?: number;
}

/**
 * A write-ahead journal in front of the usage ledger. A finished request's row is
 * appended to `usage.journal` with one synchronous write() (a few µs: it is in the
 * OS page cache, so it survives a SIGKILL of the gateway) and moved into SQLite in
 * batches, one transaction per batch, where index updates are shared by the batch.
 * A synchronous SQLite insert per request cost ~60 µs here, mostly index pages.
 *
 * Crash safety: rows are imported, then the journal is truncated. A crash between
 * the two replays rows that are already in the ledger on the next start; the
 * ledger ignores a request id it has seen, so no row is lost or doubled.
 */
export class UsageJournal implements UsageLedger {
  private readonly ledger: UsageLedger;
  private readonly path: string;
  private readonly maxPending: number;
  private readonly log: Logger | undefined;
  private fd: number;
  private pending: UsageRow[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(ledger: UsageLedger, opts: UsageJournalOptions, log?: Logger) {
    this.ledger = ledger;
    this.log = log;
    mkdirSync(opts.dataDir, { recursive: true });
    this.path = join(opts.dataDir, "usage.journal");
    this.maxPending = opts.maxPending ?? 500;
    this.fd = openSync(this.path, "a+");
    this.replay();
    this.timer = setInterval(() => this.flush(), opts.flushIntervalMs ?? 250);
    this.timer.unref();
  }

  record(row: UsageRow): void {
    writeSync(this.fd, `${JSON.stringify(row)}\n`);
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
    ftruncateSync(this.fd, 0);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    closeSync(this.fd);
  }

  /** Rows a previous process journaled but did not import (it was killed). */
  private replay(): void {
    const text = readFileSync(this.path, "utf8");
    if (!text) return;
    const rows: UsageRow[] = [];
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        rows.push(JSON.parse(line) as UsageRow);
      } catch {
        // A line cut short by the crash was never acknowledged to a client: its write() had not returned.
        this.log?.warn({ journal: this.path }, "skipped a torn usage journal line");
      }
    }
    this.ledger.recordMany(rows);
    ftruncateSync(this.fd, 0);
    this.log?.info({ rows: rows.length }, "replayed the usage journal");
  }
}
