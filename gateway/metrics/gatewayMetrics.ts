import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { OutcomeSink } from "../outcome.ts";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import { type EventLoopDelayMonitor, monitorEventLoop } from "./eventLoopDelay.ts";

/**
 * Prometheus metrics for `GET /metrics` on the operational listener, in a registry of
 * their own (no module singletons: two gateways in one test process must not share
 * counters). Labels are bounded: model, endpoint, HTTP status, replica, token kind —
 * never key or session ids. Outcomes come only from proxied requests (after routing),
 * so `model` is a served model (never a name a client made up).
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Updates the counters from a finished request's outcome. */
  readonly observe: OutcomeSink;
  /** This process's event-loop delay (also exported as `gonka_event_loop_delay_seconds`). */
  readonly eventLoop: EventLoopDelayMonitor;
  /** Stops the event-loop sampling. */
  close(): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createGatewayMetrics(models: ModelRegistry, inFlight: () => number): GatewayMetrics {
  const registry = new Registry();
  const requestCounts = new PendingCounts();
  const tokenCounts = new PendingCounts();
  const abortCounts = new PendingCounts();
  new Counter({
    name: "gonka_requests_total",
    help: "Proxied requests by model, endpoint and HTTP status.",
    labelNames: ["model", "endpoint", "status"] as const,
    registers: [registry],
    collect() {
      requestCounts.flushInto(this);
    },
  });
  const duration = new Histogram({
    name: "gonka_request_duration_seconds",
    help: "Time from receiving a proxied request to its last byte.",
    labelNames: ["model", "endpoint", "streamed"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const ttft = new Histogram({
    name: "gonka_time_to_first_token_seconds",
    help: "Streams: time from receiving the request to the first event relayed.",
    labelNames: ["model"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  new Counter({
    name: "gonka_tokens_total",
    help: "Tokens metered, by model and kind (prompt, completion, reasoning, cached).",
    labelNames: ["model", "kind"] as const,
    registers: [registry],
    collect() {
      tokenCounts.flushInto(this);
    },
  });
  new Counter({
    name: "gonka_client_aborts_total",
    help: "Requests whose client went away before the answer was complete.",
    labelNames: ["model"] as const,
    registers: [registry],
    collect() {
      abortCounts.flushInto(this);
    },
  });
  new Gauge({
    name: "gonka_requests_in_flight",
    help: "Requests this gateway process is serving now.",
    registers: [registry],
    collect() {
      this.set(inFlight());
    },
  });
  const replicaLabels = ["model", "replica"] as const;
  new Gauge({
    name: "gonka_replica_healthy",
    help: "1 when the replica passes health probes and is not cooling down after failures.",
    labelNames: replicaLabels,
    registers: [registry],
    collect() {
      const now = Date.now();
      // Pods come and go under discovery: a gone replica's series must not linger.
      this.reset();
      for (const pool of models.pools) {
        for (const r of pool.replicas)
          this.set({ model: pool.model.id, replica: r.id }, r.healthy(now) ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: "gonka_replica_outstanding_requests",
    help: "Requests this gateway has in flight to the replica.",
    labelNames: replicaLabels,
    registers: [registry],
    collect() {
      this.reset();
      for (const pool of models.pools) {
        for (const r of pool.replicas) this.set({ model: pool.model.id, replica: r.id }, r.outstanding);
      }
    },
  });
  new Gauge({
    name: "gonka_replica_queue_depth",
    help: "Requests waiting inside the engine, from its last scraped /metrics.",
    labelNames: replicaLabels,
    registers: [registry],
    collect() {
      this.reset();
      for (const pool of models.pools) {
        for (const r of pool.replicas) {
          if (r.stats) this.set({ model: pool.model.id, replica: r.id }, r.stats.waiting);
        }
      }
    },
  });

  const eventLoop = monitorEventLoop(registry);
  const requestsOf = children((model, endpoint, status) => requestCounts.series(model, endpoint, status));
  const durationOf = children((model, endpoint, streamed) => duration.labels(model, endpoint, streamed));
  const ttftOf = children((model) => ttft.labels(model));
  const abortedOf = children((model) => abortCounts.series(model));
  const tokensOf = children((model, kind) => tokenCounts.series(model, kind));

  return {
    registry,
    eventLoop,
    close: () => eventLoop.stop(),
    observe(o) {
      const model = o.modelServed ?? "unrouted";
      requestsOf(model, o.endpoint, String(o.status)).n++;
      durationOf(model, o.endpoint, o.streamed ? "true" : "false").observe(o.latencyMs / 1000);
      if (o.ttftMs !== null) ttftOf(model).observe(o.ttftMs / 1000);
      if (o.clientAborted) abortedOf(model).n++;
      const u = o.usage;
      if (u) {
        if (u.promptTokens) tokensOf(model, "prompt").n += u.promptTokens;
        if (u.completionTokens) tokensOf(model, "completion").n += u.completionTokens;
        if (u.reasoningTokens) tokensOf(model, "reasoning").n += u.reasoningTokens;
        if (u.cachedTokens) tokensOf(model, "cached").n += u.cachedTokens;
      }
    },
  };
}

/**
 * Counter increments kept as plain numbers on the request path and handed to prom-client when
 * it collects (on every scrape, before it reads the counter). prom-client validates and hashes
 * a label set on every inc(), and a finished request adds to up to six counter series: the
 * largest share of the metrics' cost per request. Each series is found through `children`.
 */
class PendingCounts {
  readonly #series: { values: string[]; n: number }[] = [];

  /** A new series labelled `values`, at zero: add to its `n`. */
  series(...values: string[]): { n: number } {
    const series = { values, n: 0 };
    this.#series.push(series);
    return series;
  }

  flushInto(counter: Counter<string>): void {
    for (const series of this.#series) {
      if (series.n === 0) continue;
      counter.labels(...series.values).inc(series.n);
      series.n = 0;
    }
  }
}

/**
 * Each series (a histogram's child, a pending count) is looked up once per label values and
 * kept: prom-client's labels() validates and hashes the label set each time. Label values are
 * bounded (see above) and these metrics are never reset, so the cache stays small and never
 * goes stale.
 */
function children<T>(make: (...values: string[]) => T): (a: string, b?: string, c?: string) => T {
  const cache = new Map<string, T>();
  return (a, b, c) => {
    // Up to three labels, keyed without building an array on the request path.
    const key = b === undefined ? a : c === undefined ? `${a}\u0000${b}` : `${a}\u0000${b}\u0000${c}`;
    let child = cache.get(key);
    if (child === undefined) {
      const values = b === undefined ? [a] : c === undefined ? [a, b] : [a, b, c];
      child = make(...values);
      cache.set(key, child);
    }
    return child;
  };
}
