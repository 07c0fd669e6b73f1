/**
 * Prometheus metrics of webhook delivery, in a registry of their own that the gateway merges
 * into `GET /metrics` (no module singletons: two gateways in one test process must not share
 * counters). No endpoint or key ids in labels: those are unbounded.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface WebhookMetrics {
  readonly registry: Registry;
  /** Events recorded in the outbox (one per target endpoint). */
  enqueued(n: number): void;
  /** One attempt's result: `success`, `http_error`, `timeout`, `network_error`. */
  attempt(result: string, seconds: number): void;
  /** A delivery reached a final state; `latencySeconds` from the event to its successful attempt. */
  settled(outcome: "succeeded" | "failed", latencySeconds: number | null): void;
}

const BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

export function createWebhookMetrics(outboxDepth: () => Promise<number>): WebhookMetrics {
  const registry = new Registry();
  const enqueued = new Counter({
    name: "gonka_webhook_events_enqueued_total",
    help: "Deliveries recorded in the outbox (one per event and target endpoint).",
    registers: [registry],
  });
  const attempts = new Counter({
    name: "gonka_webhook_attempts_total",
    help: "Delivery attempts by result: success, http_error, timeout, network_error.",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const attemptSeconds = new Histogram({
    name: "gonka_webhook_attempt_duration_seconds",
    help: "Time one delivery attempt took (connect, send, the receiver's answer).",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "gonka_webhook_deliveries_total",
    help: "Deliveries that reached a final state, by outcome: succeeded, failed (retries exhausted).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "gonka_webhook_delivery_latency_seconds",
    help: "Time from an event entering the outbox to its successful delivery (retries included).",
    buckets: BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: "gonka_webhook_outbox_pending",
    help: "Deliveries waiting to be sent or retried, across every gateway sharing the store.",
    registers: [registry],
    async collect() {
      this.set(await outboxDepth().catch(() => Number.NaN));
    },
  });
  for (const r of ["success", "http_error", "timeout", "network_error"]) attempts.inc({ result: r }, 0);
  for (const o of ["succeeded", "failed"]) deliveries.inc({ outcome: o }, 0);
  return {
    registry,
    enqueued: (n) => enqueued.inc(n),
    attempt(result, seconds) {
      attempts.inc({ result });
      attemptSeconds.observe(seconds);
    },
    settled(outcome, latencySeconds) {
      deliveries.inc({ outcome });
      if (latencySeconds !== null) latency.observe(latencySeconds);
    },
  };
}
