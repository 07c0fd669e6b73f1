/**
 * Every gateway runs one: deletes finished jobs past their retention (batches of 500, short
 * transactions, safe to run on several replicas), and emits the events of finished jobs
 * that were never marked emitted (the gateway crashed, or the sink failed, between the
 * job's end and its event).
 */
import type { Logger } from "pino";
import { startPeriodic } from "../periodic.ts";
import type { JobRepository } from "../store/index.ts";
import type { JobEventSink } from "./eventSink.ts";
import { emitJobEvent } from "./events.ts";

const BATCH = 500;

export interface JobSweeper {
  runOnce(): Promise<{ deleted: number; emitted: number }>;
  stop(): Promise<void>;
}

export function startJobSweeper(
  repo: JobRepository,
  sink: JobEventSink | undefined,
  opts: { intervalMs: number; log: Logger },
): JobSweeper {
  const sweep = async (stopped: () => boolean) => {
    let deleted = 0;
    for (let i = 0; i < 100 && !stopped(); i++) {
      const n = await repo.sweep(BATCH);
      deleted += n;
      if (n < BATCH) break;
    }
    let emitted = 0;
    if (sink) {
      for (const job of await repo.unemitted(100)) {
        if (stopped()) break;
        await emitJobEvent(job, sink, repo, opts.log);
        emitted++;
      }
    }
    if (deleted > 0) opts.log.info({ deleted }, "expired jobs swept");
    return { deleted, emitted };
  };
  return startPeriodic(sweep, {
    intervalMs: opts.intervalMs,
    onError: (err) => opts.log.warn({ err }, "job sweep failed"),
    // Once at start too: events left unemitted by a gateway that crashed between a job's end
    // and its event go out now, not a whole interval (60 s by default) after the restart.
    runAtStart: true,
  });
}
