/**
 * A background task every gateway runs on an interval (the sessions, jobs, webhook-delivery
 * and memory sweepers): one run at a time (a tick or `runOnce` during a run joins it rather
 * than starting a second), a timer that does not keep the process alive, and a `stop` that
 * waits for the run in progress. The task reads `stopped()` to end a long run early.
 */
export interface Periodic<T> {
  /** Runs the task now, or joins the run in progress. */
  runOnce(): Promise<T>;
  stop(): Promise<void>;
}

export function startPeriodic<T>(
  task: (stopped: () => boolean) => Promise<T>,
  opts: {
    intervalMs: number;
    /** A failed run's error; the next tick runs again. */
    onError: (err: unknown) => void;
    /** Also run once at start rather than a whole interval later. */
    runAtStart?: boolean;
  },
): Periodic<T> {
  let running: Promise<T> | undefined;
  let stopped = false;
  const runOnce = () => {
    running ??= task(() => stopped).finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () => {
    runOnce().catch(opts.onError);
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  if (opts.runAtStart) tick();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
