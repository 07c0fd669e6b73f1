/**
 * The delivery worker: claims due deliveries from the outbox under a lease, sends them, and
 * records each attempt. A failure schedules the next try after the configured delay with
 * jitter; past the schedule the delivery is `failed`. Everything lives in the store, so a
 * restart (or another replica, once the lease lapses) resumes where this one stopped.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { ClaimedDelivery, WebhookRepository } from "../store/index.ts";
import type { DeliveryNext } from "../store/webhooks.ts";
import type { WebhooksConfig } from "./config.ts";
import { type AttemptResult, attemptDelivery } from "./deliver.ts";
import type { WebhookMetrics } from "./metrics.ts";
import type { SecretBox } from "./secretBox.ts";

export interface DeliveryWorker {
  /** Looks for due deliveries now (after an emit or a redeliver on this gateway). */
  wake(): void;
  /** Stops polling and waits for the attempts under way. */
  stop(): Promise<void>;
}

/** The next state after a failed attempt: a retry after the schedule's delay (± jitter), or failed. */
export function nextAfterFailure(
  failuresBefore: number,
  config: Pick<WebhooksConfig, "retryDelaysMs" | "jitter">,
  now: number,
  random: () => number = Math.random,
): DeliveryNext {
  const delay = config.retryDelaysMs[failuresBefore];
  if (delay === undefined) return { status: "failed" };
  return { status: "pending", at: now + Math.round(delay * (1 + config.jitter * (2 * random() - 1))) };
}

function resultLabel(r: AttemptResult): string {
  if (r.ok) return "success";
  if (r.statusCode !== null) return "http_error";
  return r.error?.startsWith("timed out") ? "timeout" : "network_error";
}

export function startDeliveryWorker(deps: {
  repo: WebhookRepository;
  config: WebhooksConfig;
  dispatcher: Dispatcher;
  metrics: WebhookMetrics;
  box: SecretBox;
  log: Logger;
}): DeliveryWorker {
  const { repo, config, metrics, log } = deps;
  // The lease outlives one attempt's deadline by a margin, so it never lapses mid-attempt.
  const leaseMs = config.timeoutMs + 30_000;
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;

  const send = async (d: ClaimedDelivery): Promise<AttemptResult> => {
    let secrets: string[];
    try {
      secrets = d.secrets.map((s) => deps.box.open(s));
    } catch (err) {
      return {
        ok: false,
        startedAt: Date.now(),
        durationMs: 0,
        statusCode: null,
        error: (err as Error).message,
      };
    }
    return attemptDelivery(
      { ...d, secrets },
      { dispatcher: deps.dispatcher, timeoutMs: config.timeoutMs, allowHttp: config.allowHttp },
    );
  };

  const deliver = async (d: ClaimedDelivery, token: string) => {
    const result = await send(d);
    metrics.attempt(resultLabel(result), result.durationMs / 1000);
    const next: DeliveryNext = result.ok
      ? { status: "succeeded" }
      : nextAfterFailure(d.failures, config, Date.now());
    const { ok, ...attempt } = result;
    const held = await repo.finish({ deliveryId: d.id, token, attempt, next });
    if (!held) {
      log.warn({ delivery: d.id }, "webhook delivery lease lapsed before the attempt was recorded");
      return;
    }
    if (next.status !== "pending")
      metrics.settled(next.status, ok ? (Date.now() - d.createdAt) / 1000 : null);
    log.info(
      {
        delivery: d.id,
        endpoint: d.endpointId,
        event: d.eventId,
        attempt: d.attempts + 1,
        status: result.statusCode,
        error: result.error,
        next: next.status,
      },
      "webhook delivery attempt",
    );
  };

  const drain = async () => {
    do {
      again = false;
      for (;;) {
        if (stopped) return;
        const token = randomUUID();
        const batch = await repo.claim({ limit: config.concurrency, leaseMs, token });
        if (batch.length === 0) break;
        await Promise.all(batch.map((d) => deliver(d, token)));
      }
    } while (again && !stopped);
  };

  const wake = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((err) => log.warn({ err }, "webhook delivery loop failed; retrying at the next poll"))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(wake, config.pollIntervalMs);
  timer.unref();
  wake();
  return {
    wake,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
