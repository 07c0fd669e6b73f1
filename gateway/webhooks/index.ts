/**
 * Webhooks (AGNT-04): signed, durable callbacks for finished jobs. The store keeps endpoints
 * and the outbox (store/webhooks.ts); this folder has the SSRF guard (ssrf/), the
 * `/v1/webhooks` routes, the JobEventSink the jobs worker emits into, the delivery worker,
 * metrics and the OpenAPI document.
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { JobEventSink } from "../jobs/eventSink.ts";
import type { GatewayState } from "../state.ts";
import type { WebhookRepository } from "../store/index.ts";
import type { WebhooksConfig } from "./config.ts";
import { createWebhookMetrics } from "./metrics.ts";
import { eventPayload } from "./payload.ts";
import { mountWebhookRoutes } from "./routes.ts";
import { secretBox } from "./secretBox.ts";
import { createJobEventSink } from "./sink.ts";
import { parseAllowlist } from "./ssrf/addresses.ts";
import { guardedAgent } from "./ssrf/connector.ts";
import { type Resolver, systemResolver } from "./ssrf/guard.ts";
import { startDeliverySweeper } from "./sweeper.ts";
import { startDeliveryWorker } from "./worker.ts";

export { allowlistFromEnv, type WebhooksConfig, webhooksSchema } from "./config.ts";
export { webhooksOpenApi } from "./openapi.ts";

type Step = Middleware<GatewayState>;

export interface Webhooks {
  /** Hand this to the async-jobs worker: it checks named endpoints and records job events. */
  readonly sink: JobEventSink;
  /** Delivery metrics, merged into the gateway's `/metrics`. */
  readonly registry: Registry;
  /** Mounts `/v1/webhooks` on the API router behind `auth`. */
  mount(router: Router<GatewayState>, auth: readonly Step[], body: Step): void;
  /** Looks for due deliveries now. */
  wake(): void;
  close(): Promise<void>;
}

export function createWebhooks(deps: {
  repo: WebhookRepository;
  config: WebhooksConfig;
  /** `GONKA_WEBHOOK_ALLOWLIST`, which replaces `config.allowlist` when set. */
  allowlist?: string[] | undefined;
  /** `GONKA_WEBHOOK_SECRET_KEY`: encrypts signing secrets at rest when set (secretBox.ts). */
  secretKey?: string | undefined;
  log: Logger;
  /** Test seam: DNS for registration checks. */
  resolve?: Resolver;
}): Webhooks {
  const { repo, config, log } = deps;
  const policy = {
    allowHttp: config.allowHttp,
    allowlist: parseAllowlist(deps.allowlist ?? config.allowlist),
  };
  const metrics = createWebhookMetrics(() => repo.pendingCount());
  const dispatcher = guardedAgent({ policy, connectTimeoutMs: config.timeoutMs });
  const box = secretBox(deps.secretKey);
  const worker = startDeliveryWorker({ repo, config, dispatcher, metrics, box, log });
  const stopSweeper = startDeliverySweeper(repo, {
    retentionDays: config.retentionDays,
    intervalMs: config.sweepIntervalMs,
    log,
  });
  const sink = createJobEventSink({
    repo,
    maxPayloadBytes: config.maxPayloadBytes,
    payload: eventPayload,
    onEnqueued(n) {
      metrics.enqueued(n);
      if (n > 0) worker.wake();
    },
  });
  return {
    sink,
    registry: metrics.registry,
    wake: worker.wake,
    mount(router, auth, body) {
      mountWebhookRoutes(router, auth, body, {
        repo,
        config,
        policy,
        resolve: deps.resolve ?? systemResolver,
        box,
        wake: worker.wake,
      });
    },
    async close() {
      await stopSweeper();
      await worker.stop();
      await dispatcher.close();
    },
  };
}
