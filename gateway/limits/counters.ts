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

function counterOver(limiter: Limiter): Counter {
  return {
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
  );
}
