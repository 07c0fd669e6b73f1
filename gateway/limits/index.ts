/** Per-key rate limits (requests/min, tokens/min, concurrency), in memory or shared through Redis. */
export { formatReset } from "./headers.ts";
export {
  type Admission,
  createRateLimits,
  type RateLimitLogger,
  type RateLimitSubject,
  type RateLimits,
  type RateLimitsOptions,
} from "./rateLimits.ts";
export { createRedisClient, type RedisClientOptions, redisReady } from "./redisClient.ts";
