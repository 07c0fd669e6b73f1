import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface ManagedChild {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** Last lines of stderr, for error messages. */
  stderrTail(): string;
}

export interface SpawnNodeOptions<T> {
  readonly script: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Returns a value (not undefined) once a stdout line shows the child is ready. */
  readonly ready: (line: string) => T | undefined;
  readonly timeoutMs?: number;
  readonly name: string;
  /** Extra node flags (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  /** Called with every stdout line after startup. */
  readonly onLine?: (line: string) => void;
  /** Once ready, the child no longer keeps this process's event loop alive (test equipment). */
  readonly unref?: boolean;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Children die with their parent, even when a test runner exits abruptly. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
}

/**
 * Spawns `node <script>` and waits until `ready` returns a value for a stdout line.
 * Fails with the child's stderr when it exits or times out first.
 */
export async function spawnNode<T>(opts: SpawnNodeOptions<T>): Promise<ManagedChild & { readyValue: T }> {
  installExitHook();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.script, ...(opts.args ?? [])], {
    env: opts.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  live.add(child);
  const stderr: string[] = [];
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr.push(d);
    if (stderr.length > 50) stderr.shift();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  const stderrTail = () => stderr.join("").slice(-4000);
  const lines = createInterface({ input: child.stdout! });
  const readyValue = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`${opts.name} did not become ready within ${opts.timeoutMs ?? 30_000} ms\n${stderrTail()}`),
      );
    }, opts.timeoutMs ?? 30_000);
    let started = false;
    lines.on("line", (line) => {
      if (started) {
        opts.onLine?.(line);
        return;
      }
      const value = opts.ready(line);
      if (value !== undefined) {
        started = true;
        clearTimeout(timer);
        resolve(value);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (!started)
        reject(new Error(`${opts.name} exited with ${code} before it was ready\n${stderrTail()}`));
    });
  });
  if (opts.unref) {
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
  }
  return {
    pid: child.pid!,
    child,
    exited,
    readyValue,
    stderrTail,
    kill: (signal = "SIGKILL") => {
      child.kill(signal);
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Parses a pino JSON log line; undefined for anything else. */
export function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
