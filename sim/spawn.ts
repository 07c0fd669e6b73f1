import { fileURLToPath } from "node:url";
import { parseLogLine, spawnNode } from "../harness/childProcess.ts";

export interface SpawnedSimulator {
  url: string;
  pid: number;
  model: string;
  /** SIGTERM, then wait for exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Sends a signal without waiting. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  model: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the listening line. Default 15 s. */
  timeoutMs?: number;
}

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/**
 * Starts `sim/main.ts` as a real subprocess on a free port and resolves once it
 * prints its listening line. The child exits when this process's end of its
 * stdin pipe closes, so it cannot outlive a crashed test run, and it does not keep
 * this process alive.
 */
export async function spawnSimulator(opts: SpawnOptions): Promise<SpawnedSimulator> {
  const child = await spawnNode({
    name: `simulator for ${opts.model}`,
    script: MAIN,
    args: ["--model", opts.model, ...(opts.args ?? []), "--exit-with-stdin", "--port", "0"],
    env: opts.env ?? process.env,
    timeoutMs: opts.timeoutMs ?? 15_000,
    unref: true,
    ready: (line) => {
      const event = parseLogLine(line);
      if (event?.["event"] !== "listening" || typeof event["url"] !== "string") return undefined;
      return {
        url: event["url"],
        pid: typeof event["pid"] === "number" ? event["pid"] : 0,
        model: typeof event["model"] === "string" ? event["model"] : opts.model,
      };
    },
  });
  let stopped: Promise<void> | undefined;
  return {
    ...child.readyValue,
    pid: child.readyValue.pid || child.pid,
    exited: child.exited,
    kill: (signal: NodeJS.Signals = "SIGKILL") => child.kill(signal),
    stop: () => {
      stopped ??= child.stop(5_000);
      return stopped;
    },
  };
}
