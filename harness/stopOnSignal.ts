/**
 * For a command that starts servers of its own (the benches): on SIGINT or SIGTERM, stop
 * them before exiting. Node's default action kills only this process, and the gateways,
 * Redis, Postgres and peers it started would run on as orphans: a terminal's Ctrl-C reaches
 * them too, but `kill <pid>`, a CI job's timeout or `timeout 600 npm run bench` do not.
 *
 * `stop` runs once; the process then exits 130 (SIGINT) or 143 (SIGTERM), as a shell reports
 * a command ended by that signal. A second signal while stopping exits at once.
 *
 * `release` removes the handlers, for when the command ends on its own. `interrupted` says
 * whether a signal came: the command's own work then fails (its servers are going away), and
 * that failure is not the outcome to report; the handler exits when the stop is done.
 */
export interface SignalStop {
  release(): void;
  interrupted(): boolean;
}

export function stopOnSignal(stop: () => Promise<void>, log: (line: string) => void): SignalStop {
  let stopping = false;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const code = signal === "SIGINT" ? 130 : 143;
    const handler = () => {
      if (stopping) process.exit(code);
      stopping = true;
      log(`${signal}: stopping what this run started…`);
      stop().then(
        () => process.exit(code),
        (err: unknown) => {
          log(`could not stop everything: ${(err as Error).message}`);
          process.exit(code);
        },
      );
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    release: () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
    interrupted: () => stopping,
  };
}

/** Never settles: what a command awaits once a signal's handler owns its exit. */
export function untilExit(): Promise<never> {
  return new Promise<never>(() => {});
}
