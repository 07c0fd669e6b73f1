/**
 * The three per-key counters behind the limits, each a rate-limiter-flexible limiter used as
 * an atomic "add and tell me the total" over a fixed window: in memory, or in Redis so that
 * every gateway process sees the same numbers. On the request path, counterAdjuster()
 * changes them through one Lua script over the same Redis keys (one command per
 * event-loop turn); the limiters remain for reads and the memory store.
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
 * Changes several of one key's counters at once and returns their totals. With Redis, every
 * change asked for in one turn of the event loop (this request's three counters at
 * admission, its two at settle, and those of every other request in the same turn) goes
 * out as one EVALSHA: one command, one write, one round trip, atomic. The limiters sent
 * one script per counter, and each ioredis command costs client CPU (its object,
 * encoding, reply parsing, a timeout timer) and each write a loopback syscall.
 * Entries run in order inside the script, so each sees the total after its own change,
 * exactly as separate calls in that order would: a burst on one key is counted one by one.
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
  interface Waiting {
    keys: string[];
    argv: Array<string | number>;
    resolve(readings: CounterReading[]): void;
    reject(err: unknown): void;
  }
  let waiting: Waiting[] = [];
  const send = () => {
    const batch = waiting;
    waiting = [];
    const keys = batch.flatMap((w) => w.keys);
    const argv = batch.flatMap((w) => w.argv);
    client.gonkaAdjustMany(keys.length, ...keys, ...argv).then(
      (flat) => {
        let at = 0;
        for (const w of batch) {
          const readings: CounterReading[] = [];
          for (let i = 0; i < w.keys.length; i++, at += 2) {
            readings.push({ total: Number(flat[at]), msBeforeReset: Math.max(0, Number(flat[at + 1])) });
          }
          w.resolve(readings);
        }
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  };
  return (key, changes) => {
    // As rate-limiter-flexible's rejectIfRedisNotReady: fail at once, the policy decides.
    if (redis.status !== "ready") return Promise.reject(new Error("Redis connection is not ready"));
    return new Promise<CounterReading[]>((resolve, reject) => {
      const keys = changes.map(([counter]) => `${counter.keyPrefix}:${key}`);
      const argv = changes.flatMap(([counter, amount]) => [amount, counter.durationSeconds]);
      // The first change of this turn schedules the send, after the turn's I/O callbacks.
      if (waiting.length === 0) setImmediate(send);
      waiting.push({ keys, argv, resolve, reject });
    });
  };
}
