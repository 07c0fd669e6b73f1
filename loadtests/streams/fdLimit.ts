/**
 * Open-file limits for runs that hold thousands of sockets. Node raises its own soft
 * RLIMIT_NOFILE to the hard limit when it starts (node.cc, PlatformInit), and the gateway and
 * the simulator are Node processes too, so a low soft limit (`ulimit -S -n 1024`, a common
 * default) needs nothing from us; the hard limit is what counts, and only root can raise it.
 * So this checks it up front and says how to raise it, rather than failing midway with EMFILE.
 */
import { readFileSync } from "node:fs";

export interface FdLimits {
  soft: number;
  hard: number;
}

/** This process's RLIMIT_NOFILE, from /proc/self/limits ("unlimited" is Infinity). */
export function openFileLimits(): FdLimits {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const [soft, hard] = (line?.slice("Max open files".length).trim().split(/\s+/) ?? []).map((v) =>
    v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v),
  );
  if (!soft || !hard) throw new Error("cannot read the open-file limit from /proc/self/limits");
  return { soft, hard };
}

/** Throws, saying how to raise it, when this process cannot open `needed` files. */
export function assertOpenFiles(needed: number): FdLimits {
  const limits = openFileLimits();
  if (limits.soft < needed) {
    throw new Error(
      `this run needs ${needed} open files; the limit is ${limits.soft} (hard ${limits.hard}). Node raises its ` +
        "soft limit to the hard one by itself; raise the hard limit " +
        `(as root: \`ulimit -Hn ${needed}\`, nofile in /etc/security/limits.conf, LimitNOFILE= for a systemd unit, ` +
        "or `--ulimit nofile=…` for a container)",
    );
  }
  return limits;
}
