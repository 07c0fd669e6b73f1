import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

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
 * stdin pipe closes, so it cannot outlive a crashed test run.
 */
export async function spawnSimulator(opts: SpawnOptions): Promise<SpawnedSimulator> {
  const args = [MAIN, "--model", opts.model, ...(opts.args ?? []), "--exit-with-stdin", "--port", "0"];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: opts.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-8192);
  });
  // The child must not keep the parent's event loop alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  const listening = await new Promise<{ url: string; pid: number; model: string }>((resolve, reject) => {
    let buffered = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`simulator for ${opts.model} ${why}${stderr ? `; stderr:\n${stderr}` : ""}`));
    };
    const timer = setTimeout(
      () => fail(`did not start within ${opts.timeoutMs ?? 15_000} ms`),
      opts.timeoutMs ?? 15_000,
    );
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      buffered += d;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        try {
          const event = JSON.parse(line) as { event?: string; url?: string; pid?: number; model?: string };
          if (event.event === "listening" && event.url) {
            clearTimeout(timer);
            resolve({ url: event.url, pid: event.pid ?? child.pid ?? 0, model: event.model ?? opts.model });
            return;
          }
        } catch {
          // Not our JSON line; keep reading.
        }
      }
    });
    child.once("error", (err) => fail(`failed to spawn: ${err.message}`));
    void exited.then((code) => fail(`exited with code ${code} before listening`));
  });

  let stopped: Promise<void> | undefined;
  return {
    ...listening,
    exited,
    kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop() {
      stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}
