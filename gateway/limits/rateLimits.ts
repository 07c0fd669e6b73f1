/**
 * Per-key admission: requests/min, tokens/min and concurrent requests, from the key's tier.
 *
 *   admit:  +1 request (kept even if refused, as OpenAI counts it)
 *           +estimate tokens (refunded if refused later)
 *           +1 concurrency slot
 *   settle: tokens reconciled with the real usage, slot released; idempotent.
 *
 * Concurrency slots are a counter in a long fixed window (`slotTtlSeconds`). If a process
 * dies with requests in flight, its slots are never released, but they vanish when that
 * window ends, so a leak lasts at most slotTtlSeconds. The price: when a window ends while
 * requests are in flight, they stop being counted until they finish (the total is clamped
 * at zero, never negative), so for that moment a key can briefly exceed its concurrency.
 * Keep slotTtlSeconds above the longest request (first byte + generation) you allow.
 */
import type { Redis } from "ioredis";
import type { TierConfig } from "../config/schema.ts";
import { errors, GatewayError } from "../errors.ts";
import { type Counter, type CounterReading, counterAdjuster, createCounter } from "./counters.ts";
import { rateLimitHeaders, retryAfterSeconds, type WindowState } from "./headers.ts";

export interface RateLimitSubject {
  keyId: string;
  tierName: string;
  tier: TierConfig;
}

export interface Admission {
  /** x-ratelimit-* headers to send with the response. */
  headers: Record<string, string>;
  /** Reconciles tokens with `actualTokens` and frees the slot. Call exactly once in a `finally`; repeats are no-ops. */
  settle(actualTokens: number): Promise<void>;
}

export interface RateLimits {
  /** Admits the request or throws a 429 (over a limit) or 503 (store down, fail-closed). */
  admit(subject: RateLimitSubject, estimatedTokens: number): Promise<Admission>;
  /** Requests of this key holding a concurrency slot right now (all processes with Redis). */
  inFlight(keyId: string): Promise<number>;
  close(): Promise<void>;
}

export interface RateLimitLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface RateLimitsOptions {
  /** Shared counters across processes; in-process memory when absent. */
  redis?: Redis | undefined;
  /** When Redis is unreachable: admit without limits, or refuse with 503. */
  failurePolicy: "fail-open" | "fail-closed";
  logger?: RateLimitLogger;
  keyPrefix?: string;
  /** Lifetime of a concurrency window; bounds how long a dead process's slots stay taken. */
  slotTtlSeconds?: number;
}

const WINDOW_SECONDS = 60;
const NO_LIMITS: Admission = { headers: {}, settle: async () => {} };

export function createRateLimits(opts: RateLimitsOptions): RateLimits {
  const prefix = opts.keyPrefix ?? "gonka:rl";
  const redis = opts.redis;
  const requests = createCounter({ redis, keyPrefix: `${prefix}:req`, durationSeconds: WINDOW_SECONDS });
  const tokens = createCounter({ redis, keyPrefix: `${prefix}:tok`, durationSeconds: WINDOW_SECONDS });
  const slots = createCounter({
    redis,
    keyPrefix: `${prefix}:conc`,
    durationSeconds: opts.slotTtlSeconds ?? 900,
  });
  const adjust = counterAdjuster(redis);
  /**
   * Gives back what a request holds, in one step: each amount unless the window it was
   * taken in has already reset (the total went with it; taking it from the next window
   * would hand out extra capacity).
   */
  function giveBack(keyId: string, held: ReadonlyArray<readonly [Counter, number, number]>): Promise<void> {
    const now = Date.now();
    const changes = held
      .filter(([, amount, endsAt]) => amount > 0 && now < endsAt)
      .map(([c, amount]) => [c, -amount] as const);
    // Nothing to send is not a sign the store works: quietly() would end an outage otherwise.
    return changes.length ? quietly(adjust(keyId, changes)) : Promise.resolve();
  }

  // One warning per outage, not per request; cleared by the next call that reaches the store.
  let outage = false;
  function storeFailed(err: unknown): void {
    if (outage) return;
    outage = true;
    opts.logger?.warn(
      { err, policy: opts.failurePolicy },
      opts.failurePolicy === "fail-open"
        ? "rate-limit store unreachable: admitting requests without limits until it returns"
        : "rate-limit store unreachable: refusing requests with 503 until it returns",
    );
  }
  function storeWorked(): void {
    if (!outage) return;
    outage = false;
    opts.logger?.info?.({}, "rate-limit store reachable again: limits enforced");
  }
  function unavailable(cause: unknown): GatewayError {
    return new GatewayError({
      status: 503,
      type: "service_unavailable",
      code: "rate_limiter_unavailable",
      message: "Rate limits cannot be checked right now; retry shortly.",
      headers: { "retry-after": "1" },
      cause,
    });
  }

  /** Best effort: a failed release is logged through the outage path, never thrown at the caller. */
  async function quietly(work: Promise<unknown>): Promise<void> {
    try {
      await work;
      storeWorked();
    } catch (err) {
      storeFailed(err);
    }
  }

  async function admit(subject: RateLimitSubject, estimatedTokens: number): Promise<Admission> {
    const { keyId, tierName, tier } = subject;
    const estimate = Math.max(0, Math.ceil(Number.isFinite(estimatedTokens) ? estimatedTokens : 0));
    let tokensTaken: { amount: number; windowEndsAt: number } | undefined;
    let slotTaken: { windowEndsAt: number } | undefined;
    try {
      if (estimate > tier.tokensPerMinute) {
        const [req, tok] = await Promise.all([requests.add(keyId, 1), tokens.read(keyId)]);
        const headers = rateLimitHeaders(
          { limit: tier.requestsPerMinute, used: req.total, msBeforeReset: req.msBeforeReset },
          tokenState(tier, tok.total, tok.msBeforeReset),
        );
        headers["retry-after"] = retryAfterSeconds(WINDOW_SECONDS * 1_000);
        throw errors.rateLimited(
          `Request too large for tier ${tierName}: it may use up to ${estimate} tokens (prompt + max_tokens), ` +
            `more than the whole limit of ${tier.tokensPerMinute} tokens per minute. ` +
            "Shorten the prompt or lower max_tokens.",
          headers,
        );
      }

      // The three counters are taken together, in one command (one Lua script with Redis).
      // Whatever a refusal took is given back.
      const [req, tok, slot] = (await adjust(keyId, [
        [requests, 1],
        [tokens, estimate],
        [slots, 1],
      ])) as [CounterReading, CounterReading, CounterReading];
      const now = Date.now();
      tokensTaken = { amount: estimate, windowEndsAt: now + tok.msBeforeReset };
      slotTaken = { windowEndsAt: now + slot.msBeforeReset };
      const reqState: WindowState = {
        limit: tier.requestsPerMinute,
        used: req.total,
        msBeforeReset: req.msBeforeReset,
      };
      const tokState = tokenState(tier, tok.total, tok.msBeforeReset);
      const refusal = refuse(tierName, tier, reqState, tokState, estimate, slot.total);
      if (refusal) {
        const returned = giveBack(keyId, [
          [slots, 1, slotTaken.windowEndsAt],
          [tokens, estimate, tokensTaken.windowEndsAt],
        ]);
        tokensTaken = undefined;
        slotTaken = undefined;
        await returned;
        throw refusal;
      }
      storeWorked();

      const reserved = tokensTaken;
      const slotWindowEndsAt = slotTaken.windowEndsAt;
      let settled = false;
      return {
        headers: rateLimitHeaders(reqState, tokState),
        async settle(actualTokens: number) {
          if (settled) return;
          settled = true;
          const actual = Math.max(0, Math.ceil(Number.isFinite(actualTokens) ? actualTokens : 0));
          const now = Date.now();
          // One command for the slot and the token correction together.
          const changes: Array<readonly [Counter, number]> = [];
          if (now < slotWindowEndsAt) changes.push([slots, -1]);
          if (actual < reserved.amount) {
            if (now < reserved.windowEndsAt) changes.push([tokens, -(reserved.amount - actual)]);
          } else if (actual > reserved.amount) {
            // Charged to the current window, wherever the reservation was: the tokens were just produced.
            changes.push([tokens, actual - reserved.amount]);
          }
          if (changes.length) await quietly(adjust(keyId, changes));
        },
      };
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      // The store failed part-way: give back what this request may already hold, then apply the policy.
      const held: Array<readonly [Counter, number, number]> = [];
      if (tokensTaken) held.push([tokens, tokensTaken.amount, tokensTaken.windowEndsAt]);
      if (slotTaken) held.push([slots, 1, slotTaken.windowEndsAt]);
      await giveBack(keyId, held);
      storeFailed(err);
      if (opts.failurePolicy === "fail-closed") throw unavailable(err);
      return NO_LIMITS;
    }
  }

  return {
    admit,
    async inFlight(keyId: string) {
      return (await slots.read(keyId)).total;
    },
    async close() {
      // The Redis client belongs to the caller (it may be shared); nothing else holds resources.
    },
  };
}

/** The first limit the request broke, as the 429 the client gets; undefined when it is within all three. */
function refuse(
  tierName: string,
  tier: TierConfig,
  reqState: WindowState,
  tokState: WindowState,
  estimate: number,
  slotsInUse: number,
): GatewayError | undefined {
  if (reqState.used > tier.requestsPerMinute) {
    // Report tokens without this request's reservation, which is being returned.
    const headers = rateLimitHeaders(reqState, { ...tokState, used: tokState.used - estimate });
    headers["retry-after"] = retryAfterSeconds(reqState.msBeforeReset);
    return errors.rateLimited(
      `Rate limit reached for requests on tier ${tierName}: limit ${tier.requestsPerMinute} per minute. ` +
        `Retry after ${headers["retry-after"]} s.`,
      headers,
    );
  }
  if (tokState.used > tier.tokensPerMinute) {
    const before = tokState.used - estimate;
    const headers = rateLimitHeaders(reqState, { ...tokState, used: before });
    headers["retry-after"] = retryAfterSeconds(tokState.msBeforeReset);
    return errors.rateLimited(
      `Rate limit reached for tokens on tier ${tierName}: limit ${tier.tokensPerMinute} per minute, ` +
        `${Math.max(0, tier.tokensPerMinute - before)} left, this request may use ${estimate}. ` +
        `Retry after ${headers["retry-after"]} s.`,
      headers,
    );
  }
  if (slotsInUse > tier.concurrentRequests) {
    const headers = rateLimitHeaders(reqState, { ...tokState, used: tokState.used - estimate });
    headers["retry-after"] = "1";
    return errors.rateLimited(
      `Too many concurrent requests on tier ${tierName}: limit ${tier.concurrentRequests} in flight. ` +
        "Retry when one of your requests has finished.",
      headers,
    );
  }
  return undefined;
}

function tokenState(tier: TierConfig, used: number, msBeforeReset: number): WindowState {
  return { limit: tier.tokensPerMinute, used, msBeforeReset };
}
