import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { TierConfig } from "../config/schema.ts";
import { errors } from "../errors.ts";
import type { RateLimits } from "../limits/index.ts";
import type { GatewayState } from "../state.ts";
import { listAllows } from "./allowList.ts";

/** Output tokens assumed for a request that sets no `max_tokens`, for the tokens/min reservation. */
const DEFAULT_COMPLETION_ESTIMATE = 1_024;

/**
 * Reservation for tokens/min: the prompt from the body size (about 4 bytes a token)
 * plus what the request may generate. Reconciled with real usage when it finishes.
 */
export function estimateTokens(body: Record<string, unknown>, bodyBytes: number): number {
  const prompt = Math.ceil(bodyBytes / 4);
  if (body["input"] !== undefined && body["messages"] === undefined && body["prompt"] === undefined)
    return prompt;
  const max = body["max_completion_tokens"] ?? body["max_tokens"];
  const n = typeof body["n"] === "number" ? body["n"] : 1;
  return prompt + (typeof max === "number" ? max : DEFAULT_COMPLETION_ESTIMATE) * n;
}

/**
 * After routing: the key's and its tier's model allow-lists, then the rate limits.
 * The limits' headers go on every response; the reservation is settled when the
 * request is over, whatever way it ended.
 */
export function admission(
  limits: RateLimits,
  tiers: Record<string, TierConfig>,
  log: Logger,
): Middleware<GatewayState> {
  return async function admission(ctx, next) {
    const key = ctx.state.key;
    const route = ctx.state.route!;
    if (!key) return next();
    const tier = tiers[key.tier]!;
    if (!listAllows(key.models, route.pool) || !listAllows(tier.models, route.pool)) {
      throw errors.modelNotAllowed(route.requested);
    }
    const estimate = estimateTokens(route.body, ctx.state.rawBody?.length ?? 0);
    const ticket = await limits.admit({ keyId: key.id, tierName: key.tier, tier }, estimate);
    Object.assign(ctx.state.responseHeaders, ticket.headers);
    ctx.set(ticket.headers);
    let settled = false;
    try {
      await next();
    } finally {
      const outcome = ctx.state.outcome;
      // Unknown usage after the backend started (client gone before the usage chunk): keep the reservation.
      const used = ctx.state.reservationKept
        ? estimate
        : outcome?.usage
          ? outcome.usage.promptTokens + outcome.usage.completionTokens
          : outcome?.replica
            ? estimate
            : 0;
      if (!settled) {
        settled = true;
        // Not awaited: the response must not wait for a Redis round trip.
        ticket
          .settle(used)
          .catch((err: unknown) => log.warn({ err, keyId: key.id }, "rate-limit settle failed"));
      }
    }
  };
}
