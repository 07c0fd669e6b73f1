/**
 * Server-side sessions (AGNT-01, AGNT-06): the chat step for `X-Session-Id`, the
 * `/v1/sessions` routes, the admin routes and the sweeper, built over the store.
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { GatewayConfig } from "../config/schema.ts";
import type { GatewayState } from "../state.ts";
import type { SessionRepository } from "../store/index.ts";
import { sessionsOpenApi } from "./openapi.ts";
import { mountSessionRoutes } from "./routes.ts";
import { sessionStep } from "./sessionStep.ts";
import { type Sweeper, startSweeper } from "./sweeper.ts";

type Step = Middleware<GatewayState>;

/** What createGateway needs to offer sessions. */
export interface SessionsWiring {
  /** Runs on chat completions after admission, before the proxy. */
  readonly chatStep: Step;
  /** Mounts `/v1/sessions` on the API router behind `auth`. */
  mount(router: Router<GatewayState>, auth: readonly Step[], body: Step): void;
  /** Mounts the sessions OpenAPI document on the operational router. */
  mountOps(router: Router<GatewayState>): void;
}

export interface Sessions extends SessionsWiring {
  readonly sweeper: Sweeper;
  close(): Promise<void>;
}

export function createSessions(repo: SessionRepository, config: GatewayConfig, log: Logger): Sessions {
  const sweeper = startSweeper(repo, {
    intervalMs: config.sessions.sweepIntervalMs,
    batchSize: config.sessions.sweepBatchSize,
    log,
  });
  return {
    chatStep: sessionStep({ repo, tiers: config.tiers, lockLeaseMs: config.sessions.lockLeaseMs, log }),
    mount: (router, auth, body) => mountSessionRoutes(router, auth, body, { repo, tiers: config.tiers }),
    mountOps: (router) =>
      router.get("/gonka/openapi/sessions.json", (ctx) => {
        ctx.body = sessionsOpenApi;
      }),
    sweeper,
    close: () => sweeper.stop(),
  };
}

export { mountAdminSessionRoutes } from "./routes.ts";
