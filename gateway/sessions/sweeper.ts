/**
 * Deletes expired sessions (AGNT-06). Every gateway runs one: each batch is one short
 * transaction over at most `batchSize` sessions, and concurrent sweepers skip each other's
 * rows (Postgres) or take turns on the write lock (SQLite), so running several is safe and
 * never holds a table lock for long.
 */
import type { Logger } from "pino";
import { startPeriodic } from "../periodic.ts";
import type { SessionRepository } from "../store/index.ts";

export interface Sweeper {
  /** One sweep: batches until no expired session is left (or `maxBatches`); returns how many were deleted. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startSweeper(
  repo: SessionRepository,
  opts: { intervalMs: number; batchSize: number; log: Logger; maxBatches?: number },
): Sweeper {
  const maxBatches = opts.maxBatches ?? 100;

  const sweep = async (stopped: () => boolean) => {
    let total = 0;
    for (let i = 0; i < maxBatches && !stopped(); i++) {
      const n = await repo.sweep(opts.batchSize);
      total += n;
      if (n < opts.batchSize) break;
      // Let requests run between batches.
      await new Promise((r) => setImmediate(r));
    }
    if (total > 0) opts.log.info({ deleted: total }, "expired sessions swept");
    return total;
  };
  return startPeriodic(sweep, {
    intervalMs: opts.intervalMs,
    onError: (err) => opts.log.warn({ err }, "session sweep failed"),
  });
}
