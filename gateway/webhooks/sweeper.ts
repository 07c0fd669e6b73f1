/**
 * Deletes settled deliveries (and their attempt logs) past `webhooks.retentionDays`, every
 * `sweepIntervalMs`, in batches of 500: short transactions, and replicas sweeping together
 * take different rows. Pending deliveries are never swept.
 */
import type { Logger } from "pino";
import { startPeriodic } from "../periodic.ts";
import type { WebhookRepository } from "../store/index.ts";

const BATCH = 500;
const DAY = 86_400_000;

/** One sweep: deletes until a batch comes back short; returns how many were deleted. */
export async function sweepDeliveries(repo: WebhookRepository, retentionDays: number, now = Date.now()) {
  const before = now - retentionDays * DAY;
  let total = 0;
  for (;;) {
    const n = await repo.sweep(before, BATCH);
    total += n;
    if (n < BATCH) return total;
  }
}

export function startDeliverySweeper(
  repo: WebhookRepository,
  opts: { retentionDays: number; intervalMs: number; log: Logger },
): () => Promise<void> {
  const sweep = async () => {
    const n = await sweepDeliveries(repo, opts.retentionDays);
    if (n > 0) opts.log.info({ swept: n }, "webhook deliveries past retention deleted");
  };
  const sweeper = startPeriodic(sweep, {
    intervalMs: opts.intervalMs,
    onError: (err) => opts.log.warn({ err }, "webhook delivery sweep failed; retrying at the next interval"),
  });
  return sweeper.stop;
}
