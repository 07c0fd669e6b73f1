/**
 * Starts a peer gateway as a child process on a free loopback port and waits until it answers.
 * Peers print banners, not JSON ready lines, so readiness is an HTTP poll; their output is kept
 * (last lines) for the error message when one fails to start.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { waitForHttp } from "../proc.ts";

export interface RunningPeer {
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

export async function launchPeer(opts: {
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  url: string;
  readyPath: string;
  timeoutMs: number;
}): Promise<RunningPeer> {
  const child: ChildProcess = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(chunk.toString("utf8"));
    if (tail.length > 40) tail.shift();
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  // A command that cannot start emits "error", maybe without "exit": either ends the wait.
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (err) => {
      tail.push(`cannot start ${opts.command}: ${err.message}`);
      resolve();
    });
  });
  // Dies with us, whatever way we end.
  const killer = () => child.kill("SIGKILL");
  process.once("exit", killer);
  const stop = async () => {
    process.off("exit", killer);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForHttp(`${opts.url}${opts.readyPath}`, opts.timeoutMs, exited);
  } catch (err) {
    await stop();
    throw new Error(`${opts.name}: ${(err as Error).message}\n${tail.join("").slice(-2000)}`);
  }
  return { pid: child.pid!, url: opts.url, stop };
}
