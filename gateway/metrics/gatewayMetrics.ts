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
  const requests = new Counter({
    name: "gonka_requests_total",
    help: "Proxied requests by model, endpoint and HTTP status.",
    labelNames: ["model", "endpoint", "status"] as const,
    registers: [registry],
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
  const tokens = new Counter({
    name: "gonka_tokens_total",
    help: "Tokens metered, by model and kind (prompt, completion, reasoning, cached).",
    labelNames: ["model", "kind"] as const,
    registers: [registry],
  });
  const aborted = new Counter({
    name: "gonka_client_aborts_total",
    help: "Requests whose client went away before the answer was complete.",
    labelNames: ["model"] as const,
    registers: [registry],
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

  return {
    registry,
    eventLoop,
    close: () => eventLoop.stop(),
    observe(o) {
      const model = o.modelServed ?? "unrouted";
      requests.inc({ model, endpoint: o.endpoint, status: String(o.status) });
      duration.observe(
        { model, endpoint: o.endpoint, streamed: o.streamed ? "true" : "false" },
        o.latencyMs / 1000,
      );
      if (o.ttftMs !== null) ttft.observe({ model }, o.ttftMs / 1000);
      if (o.clientAborted) aborted.inc({ model });
      const u = o.usage;
      if (u) {
        if (u.promptTokens) tokens.inc({ model, kind: "prompt" }, u.promptTokens);
        if (u.completionTokens) tokens.inc({ model, kind: "completion" }, u.completionTokens);
        if (u.reasoningTokens) tokens.inc({ model, kind: "reasoning" }, u.reasoningTokens);
        if (u.cachedTokens) tokens.inc({ model, kind: "cached" }, u.cachedTokens);
      }
    },
  };
}
