import { readFileSync } from "node:fs";

/**
 * Whether `pid` is a running process. `kill(pid, 0)` alone is not enough: an orphan whose
 * parent died is re-parented to PID 1, and where PID 1 is not a reaping init (containers,
 * microVMs like this CI machine) the exited process stays a zombie that `kill(pid, 0)`
 * still reaches. A zombie has exited, so it counts as not running.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; the command name before it may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    // No /proc (macOS): kill(pid, 0) is the best answer there is.
    return true;
  }
}
