/**
 * The Responses API (issue 15): `POST /v1/responses` goes through the gateway's proxy pipeline
 * (keys, limits, routing, metering, metrics) with this folder's state step in front of the
 * proxy and its stream relay for the `event:`-framed stream; the stored-response routes are
 * mounted beside it. Engines that serve `/v1/responses` (vLLM) get it passed through.
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { GatewayConfig } from "../config/schema.ts";
import type { GatewayState } from "../state.ts";
import type { SessionRepository } from "../store/index.ts";
import { mountResponseRoutes } from "./routes.ts";
import { responsesStep } from "./stateStep.ts";

type Step = Middleware<GatewayState>;

export interface ResponsesWiring {
  /** Runs on `POST /v1/responses` after admission, before the proxy. */
  readonly step: Step;
  /** Mounts the stored-response routes on the API router behind `auth`. */
  mount(router: Router<GatewayState>, auth: readonly Step[]): void;
}

export function createResponses(
  repo: SessionRepository,
  config: GatewayConfig,
  log: Logger,
): ResponsesWiring {
  return {
    step: responsesStep({ repo, tiers: config.tiers, lockLeaseMs: config.sessions.lockLeaseMs, log }),
    mount: (router, auth) => mountResponseRoutes(router, auth, { repo, tiers: config.tiers }),
  };
}

export { responsesOpenApi } from "./openapi.ts";
export { relayResponsesStream } from "./streamRelay.ts";
export { validateResponsesBody } from "./validate.ts";
