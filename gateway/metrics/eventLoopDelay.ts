import { type ELDHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { Gauge, type Registry } from "prom-client";

/**
 * Event-loop delay as Prometheus gauges: `gonka_event_loop_delay_seconds{quantile}` (p50,
 * p90, p99, p99.9 and max) over a sliding window of the last one to two `windowMs`, so a
 * stall shows on the next scrape whoever scrapes and however often (prom-client's default
 * `nodejs_eventloop_lag_p99_seconds` resets on every scrape, so two scrapers split the
 * samples between them, and it reports the sampling interval itself — ~10 ms on an idle
 * loop — as delay).
 *
 * Node samples the loop every `resolutionMs` with a timer and records how long each wait
 * really took; the excess over `resolutionMs` is the delay. Any stall longer than the
 * resolution lands in at least one sample, so 10 ms is enough to see every stall that
 * matters for a p99 while costing one timer wake-up per 10 ms.
 */
export interface EventLoopDelayMonitor {
  /** Delay percentile over the current window, in milliseconds (p = 100 for the max). */
  percentileMs(p: number): number;
  stop(): void;
}

export interface EventLoopDelayOptions {
  resolutionMs?: number;
  windowMs?: number;
}

const QUANTILES = [0.5, 0.9, 0.99, 0.999, 1] as const;

export function monitorEventLoop(
  registry: Registry,
  opts: EventLoopDelayOptions = {},
): EventLoopDelayMonitor {
  const resolutionMs = opts.resolutionMs ?? 10;
  const windowMs = opts.windowMs ?? 30_000;
  // Two histograms, each reset every 2 windows, half a period apart: the older of the two
  // always covers between one and two windows of history (histograms cannot be merged).
  const monitors = [0, 1].map(() => {
    const h = monitorEventLoopDelay({ resolution: resolutionMs });
    h.enable();
    return { h, since: Date.now() };
  });
  let turn = 0;
  const rotate = setInterval(() => {
    const m = monitors[turn]!;
    m.h.reset();
    m.since = Date.now();
    turn = 1 - turn;
  }, windowMs);
  rotate.unref();
  const window = (): ELDHistogram =>
    monitors[0]!.since <= monitors[1]!.since ? monitors[0]!.h : monitors[1]!.h;
  const delayMs = (h: ELDHistogram, p: number): number => {
    if (h.count === 0) return 0;
    const ns = p >= 100 ? h.max : h.percentile(p);
    return Math.max(0, ns / 1e6 - resolutionMs);
  };

  new Gauge({
    name: "gonka_event_loop_delay_seconds",
    help: "Event-loop delay (how late a timer ran) by quantile, over the last 30-60 s; quantile 1 is the max.",
    labelNames: ["quantile"] as const,
    registers: [registry],
    collect() {
      const h = window();
      for (const q of QUANTILES) this.set({ quantile: String(q) }, delayMs(h, q * 100) / 1000);
    },
  });

  return {
    percentileMs: (p) => delayMs(window(), p),
    stop() {
      clearInterval(rotate);
      for (const m of monitors) m.h.disable();
    },
  };
}
