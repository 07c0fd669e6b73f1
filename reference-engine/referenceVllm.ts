import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { getPreset } from "../catalog/index.ts";
import { assertInstalled, REFERENCE_ENGINE_DIR, type ReferencePaths, referencePaths } from "./paths.ts";
import { REFERENCE_MODEL, referenceVllmArgs } from "./vllmArgs.ts";

export interface ReferenceVllm {
  readonly url: string;
  readonly pid: number;
  /** The served model name (`kimi-k2.5`). */
  readonly model: string;
  /** From spawn to the first 200 on `/health`. */
  readonly startupMs: number;
  /** Last lines of vLLM's output, for failure messages. */
  logTail(): string;
  /** SIGTERM to the launcher's process group (vLLM and its engine core), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Bound on start-up; vLLM on 2 CPU cores takes well under a minute when idle. Default 240 s. */
  readonly timeoutMs?: number;
  readonly paths?: ReferencePaths;
  /** Extra vLLM arguments (after the catalog's). */
  readonly extraArgs?: readonly string[];
  /**
   * Pause per engine step while a scripted request runs (forcing_processor.py), ms. Default 20:
   * one token per chunk even on a loaded CPU, which the differential test's chunk comparison needs.
   */
  readonly stepPauseMs?: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** vLLM is pointed at `<weightsDir>/<repo>` like in production; here that path links to the tiny model. */
function weightsDirFor(paths: ReferencePaths): string {
  const weightsDir = join(paths.home, "weights");
  const link = join(weightsDir, getPreset(REFERENCE_MODEL).weights.repo);
  mkdirSync(dirname(link), { recursive: true });
  // Per-process temporary name, then an atomic rename over the old link (the model dir name
  // changes whenever the builder changes; concurrent starts each win harmlessly).
  const tmp = `${link}.${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(paths.modelDir, tmp);
  renameSync(tmp, link);
  return weightsDir;
}

const live = new Set<ChildProcess>();
let hooked = false;
function killAllOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const c of live) if (c.pid) process.kill(-c.pid, "SIGKILL");
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Starts real vLLM (CPU) serving the tiny model with the catalog's kimi-k2.5 arguments. */
export async function startReferenceVllm(opts: StartOptions = {}): Promise<ReferenceVllm> {
  const paths = opts.paths ?? referencePaths();
  assertInstalled(paths);
  const port = await freePort();
  const args = [...referenceVllmArgs(weightsDirFor(paths), port), ...(opts.extraArgs ?? [])];
  const started = performance.now();
  const child = spawn(paths.python, [join(REFERENCE_ENGINE_DIR, "serve.py"), ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true, // its own process group, so stop() reaches the engine-core subprocess too
    env: {
      ...process.env,
      // 1 GiB of KV cache holds a full 256k-token sequence of the tiny model (1 KiB per token).
      VLLM_CPU_KVCACHE_SPACE: "1",
      // One OpenMP thread on core 0: the tiny model needs no more, and the machine is shared with
      // other test processes. ("nobind" crashes vLLM 0.20.2's CPU worker: empty cpu_lists.)
      VLLM_CPU_OMP_THREADS_BIND: "0",
      // One engine step at a time reaches the serving code even on a loaded CPU (forcing_processor.py).
      GONKA_REF_STEP_MS: String(opts.stepPauseMs ?? 20),
      HF_HUB_OFFLINE: "1",
      TRANSFORMERS_OFFLINE: "1",
      VLLM_NO_USAGE_STATS: "1",
      DO_NOT_TRACK: "1",
      PYTHONUNBUFFERED: "1",
    },
  });
  killAllOnExit();
  live.add(child);
  const log: string[] = [];
  const keep = (d: Buffer) => {
    log.push(d.toString("utf8"));
    if (log.length > 200) log.shift();
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const logTail = () => log.join("").slice(-6000);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code) => {
      exitCode = code;
      live.delete(child);
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const timeoutMs = opts.timeoutMs ?? 240_000;
  const stop = async () => {
    if (exitCode !== undefined) return;
    process.kill(-child.pid!, "SIGTERM");
    const timer = setTimeout(() => {
      if (exitCode === undefined) process.kill(-child.pid!, "SIGKILL");
    }, 15_000);
    await exited;
    clearTimeout(timer);
  };
  while (!(await healthy(url))) {
    if (exitCode !== undefined) {
      throw new Error(`reference vLLM exited with ${exitCode} before it was ready\n${logTail()}`);
    }
    if (performance.now() - started > timeoutMs) {
      await stop();
      throw new Error(`reference vLLM did not answer /health within ${timeoutMs} ms\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const startupMs = Math.round(performance.now() - started);
  // Does not keep the test process alive; serve.py exits when our end of its stdin closes.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) {
    (s as unknown as { unref?: () => void } | null)?.unref?.();
  }
  return { url, pid: child.pid!, model: REFERENCE_MODEL, startupMs, logTail, stop };
}
