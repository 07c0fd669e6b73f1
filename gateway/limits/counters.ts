/**
 * The three per-key counters behind the limits, each a rate-limiter-flexible limiter used as
 * an atomic "add and tell me the total" over a fixed window: in memory, or in Redis so that
 * every gateway process sees the same numbers.
 *
 * The limiters never reject by themselves (their `points` is a ceiling no tier reaches); the
 * caller compares the returned total with the key's *current* tier. That way a tier change
 * applies on the very next request, and the count carries over: a downgrade cannot be used
 * to start a fresh minute, and requests in flight under the old tier still hold their slots.
 */
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from "rate-limiter-flexible";

export interface CounterReading {
  /** Total in the current window after the change. */
  total: number;
  /** Time until the window (and the total) resets. */
  msBeforeReset: number;
}

export interface Counter {
  /** Redis key prefix and window length: what adjustTogether() needs to reach the same total. */
  readonly keyPrefix: string;
  readonly durationSeconds: number;
  add(key: string, amount: number): Promise<CounterReading>;
  /** Takes `amount` back, unless the window it was added in has already reset. */
  subtract(key: string, amount: number, addedWindowEndsAt: number): Promise<void>;
  /** Current total (0 when no window is open). */
  read(key: string): Promise<CounterReading>;
}

/** No tier comes near this; it only keeps the limiter from rejecting on its own. */
const CEILING = Number.MAX_SAFE_INTEGER;

/**
 * rate-limiter-flexible's increment script, plus one line: a total never goes below zero.
 * A release that lands just after its window reset would otherwise leave -1 behind, which
 * is a free extra concurrency slot for a whole window.
 */
const CLAMPED_INCR_LUA = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local consumed = redis.call('incrby', KEYS[1], ARGV[1])
if consumed < 0 then
  redis.call('set', KEYS[1], 0, 'KEEPTTL')
  consumed = 0
end
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = 1000 * ARGV[2]
end
return {consumed, ttl}`;

type Limiter = RateLimiterMemory | RateLimiterRedis;

function counterOver(limiter: Limiter, opts: CounterOptions): Counter {
  return {
    keyPrefix: opts.keyPrefix,
    durationSeconds: opts.durationSeconds,
    async add(key, amount) {
      const res: RateLimiterRes = await limiter.consume(key, amount);
      return { total: res.consumedPoints, msBeforeReset: Math.max(0, res.msBeforeNext) };
    },
    async subtract(key, amount, addedWindowEndsAt) {
      // The window that held `amount` is gone, and the total with it; subtracting now
      // would take it from the next window instead. For the memory store this check is
      // exact (same clock); for Redis, the Lua clamp covers the last milliseconds of skew.
      if (amount <= 0 || Date.now() >= addedWindowEndsAt) return;
      await limiter.reward(key, amount);
    },
    async read(key) {
      const res = await limiter.get(key);
      if (!res) return { total: 0, msBeforeReset: 0 };
      return { total: Math.max(0, res.consumedPoints), msBeforeReset: Math.max(0, res.msBeforeNext) };
    },
  };
}

export interface CounterOptions {
  redis: Redis | undefined;
  keyPrefix: string;
  durationSeconds: number;
}

export function createCounter(opts: CounterOptions): Counter {
  if (!opts.redis) {
    return counterOver(
      new RateLimiterMemory({ points: CEILING, duration: opts.durationSeconds, keyPrefix: opts.keyPrefix }),
      opts,
    );
  }
  return counterOver(
    new RateLimiterRedis({
      storeClient: opts.redis,
      points: CEILING,
      duration: opts.durationSeconds,
      keyPrefix: opts.keyPrefix,
      // Fail at once while disconnected instead of queueing; the policy decides what happens.
      rejectIfRedisNotReady: true,
      customIncrTtlLuaScript: CLAMPED_INCR_LUA,
    }),
    opts,
  );
}

/**
 * CLAMPED_INCR_LUA over several counters in one script: KEYS[i] changes by ARGV[2i-1]
 * (negative gives back) in a window of ARGV[2i] seconds; returns each total and its
 * remaining ms, flat. Same keys, values and TTLs as the per-counter limiters, so both
 * paths (and gateways of either version during a rollout) count the same totals.
 */
const ADJUST_MANY_LUA = `local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local seconds = ARGV[2 * i]
  redis.call('set', key, 0, 'EX', seconds, 'NX')
  local consumed = redis.call('incrby', key, ARGV[2 * i - 1])
  if consumed < 0 then
    redis.call('set', key, 0, 'KEEPTTL')
    consumed = 0
  end
  local ttl = redis.call('pttl', key)
  if ttl == -1 then
    redis.call('expire', key, seconds)
    ttl = 1000 * seconds
  end
  out[2 * i - 1] = consumed
  out[2 * i] = ttl
end
return out`;

type AdjustingRedis = Redis & { gonkaAdjustMany(...args: Array<string | number>): Promise<number[]> };

/**
 * Changes several of one key's counters at once and returns their totals. With Redis it is
 * one EVALSHA (one command, one round trip, atomic), where the limiters would send one
 * script per counter: admission changes three counters and settling two, and each ioredis
 * command costs client CPU (its object, encoding, reply parsing, a timeout timer).
 * The keys of one call must live on one Redis node (no Redis Cluster hash slots here).
 */
export function counterAdjuster(
  redis: Redis | undefined,
): (key: string, changes: ReadonlyArray<readonly [Counter, number]>) => Promise<CounterReading[]> {
  if (!redis) {
    return (key, changes) =>
      Promise.all(
        changes.map(async ([counter, amount]) => {
          if (amount >= 0) return counter.add(key, amount);
          await counter.subtract(key, -amount, Number.POSITIVE_INFINITY);
          return counter.read(key);
        }),
      );
  }
  const client = redis as AdjustingRedis;
  if (typeof client.gonkaAdjustMany !== "function") {
    redis.defineCommand("gonkaAdjustMany", { lua: ADJUST_MANY_LUA });
  }
  return async (key, changes) => {
    // As rate-limiter-flexible's rejectIfRedisNotReady: fail at once, the policy decides.
    if (redis.status !== "ready") throw new Error("Redis connection is not ready");
    const args: Array<string | number> = [changes.length];
    for (const [counter] of changes) args.push(`${counter.keyPrefix}:${key}`);
    for (const [counter, amount] of changes) args.push(amount, counter.durationSeconds);
    const flat = await client.gonkaAdjustMany(...args);
    return changes.map((_, i) => ({
      total: Number(flat[2 * i]),
      msBeforeReset: Math.max(0, Number(flat[2 * i + 1])),
    }));
  };
}
