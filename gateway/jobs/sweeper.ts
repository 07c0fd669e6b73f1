/**
 * Every gateway runs one: deletes finished jobs past their retention (batches of 500, short
 * transactions, safe to run on several replicas), and emits the events of finished jobs
 * that were never marked emitted (the gateway crashed, or the sink failed, between the
 * job's end and its event).
 */
import type { Logger } from "pino";
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
  let running: Promise<{ deleted: number; emitted: number }> | undefined;
  let stopped = false;
  const sweep = async () => {
    let deleted = 0;
    for (let i = 0; i < 100 && !stopped; i++) {
      const n = await repo.sweep(BATCH);
      deleted += n;
      if (n < BATCH) break;
    }
    let emitted = 0;
    if (sink) {
      for (const job of await repo.unemitted(100)) {
        if (stopped) break;
        await emitJobEvent(job, sink, repo, opts.log);
        emitted++;
      }
    }
    if (deleted > 0) opts.log.info({ deleted }, "expired jobs swept");
    return { deleted, emitted };
  };
  const runOnce = () => {
    running ??= sweep().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () => {
    runOnce().catch((err: unknown) => opts.log.warn({ err }, "job sweep failed"));
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  // Once at start too: events left unemitted by a gateway that crashed between a job's end
  // and its event go out now, not a whole interval (60 s by default) after the restart.
  tick();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
