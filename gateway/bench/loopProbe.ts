/**
 * Preloaded into each benchmarked process (`node --import loopProbe.ts …`, with
 * GONKA_LOOP_PROBE_FILE set): samples the event-loop delay the way the gateway's
 * `gonka_event_loop_delay_seconds` does (10 ms resolution, excess over it), and on each
 * SIGUSR2 writes the delay since the previous signal to that file and starts over. The
 * bench signals before and after each measurement, so every cell gets its own numbers,
 * also for the bare proxy, which has no /metrics. A file, not stdout: the gateway's log
 * lines share stdout and could interleave with ours.
 */
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const RESOLUTION_MS = 10;
const file = process.env["GONKA_LOOP_PROBE_FILE"];
if (file) {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  let seq = 0;
  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on("SIGUSR2", () => {
    const stats = h.count
      ? { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) }
      : { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    writeFileSync(file, JSON.stringify({ seq: ++seq, samples: h.count, ...stats }));
    h.reset();
  });
}
