import { existsSync, readFileSync } from "node:fs";

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface ProbeReport extends LoopDelay {
  seq: number;
  samples: number;
}

/**
 * The bench's side of loopProbe.ts: `take()` signals the process and resolves with its
 * event-loop delay since the previous take (the first take only starts the interval).
 */
export function loopProbe(pid: number, file: string): { take(): Promise<LoopDelay> } {
  const read = (): ProbeReport | undefined =>
    existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ProbeReport) : undefined;
  return {
    async take() {
      const before = read()?.seq ?? 0;
      process.kill(pid, "SIGUSR2");
      const deadline = Date.now() + 5_000;
      for (;;) {
        // writeFileSync truncates then writes: a half-written file fails to parse; read again.
        let now: ProbeReport | undefined;
        try {
          now = read();
        } catch {
          now = undefined;
        }
        if (now && now.seq > before) return { p50Ms: now.p50Ms, p99Ms: now.p99Ms, maxMs: now.maxMs };
        if (Date.now() > deadline) throw new Error(`loop probe of pid ${pid} did not answer (${file})`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}
