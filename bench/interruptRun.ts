/**
 * Test support for the benches: runs one as a child process, sends SIGTERM to it alone once
 * its output shows `when` (as `timeout` or a CI job's timeout would), and reports what it
 * left behind. Whatever it left running is stopped here, so a failing test leaves nothing.
 */
import { spawn } from "node:child_process";
import { isRunning } from "../harness/processAlive.ts";
import { processTree } from "./proc.ts";

export interface InterruptedRun {
  /** The command's exit code (null if a signal killed it). */
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  /** The processes it had started when it was interrupted. */
  started: number[];
  /** Those still running after it exited. */
  survivors: number[];
}

export async function interruptMidRun(
  args: string[],
  opts: { when: string; cwd?: string },
): Promise<InterruptedRun> {
  const child = spawn(process.execPath, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes(opts.when)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(() => reject(new Error(`it ended before printing "${opts.when}":\n${output}`)));
  });
  const started = processTree([child.pid!]).filter((pid) => pid !== child.pid);
  child.kill("SIGTERM");
  const code = await exited;
  const survivors = started.filter(isRunning);
  for (const pid of survivors) process.kill(pid, "SIGKILL");
  return { code, output, started, survivors };
}
