/**
 * The ioredis client for rate limits, set up so that no request can hang on Redis: every
 * command is bounded, nothing is queued while disconnected, and it reconnects by itself.
 */
import { Redis } from "ioredis";

export interface RedisClientOptions {
  /** Upper bound on any one command (the gateway's added latency when Redis stalls). */
  commandTimeoutMs?: number;
  logger?: { warn(obj: object, msg: string): void };
}

export function createRedisClient(url: string, opts: RedisClientOptions = {}): Redis {
  const client = new Redis(url, {
    commandTimeout: opts.commandTimeoutMs ?? 500,
    connectTimeout: 1_000,
    // Fail commands at once while disconnected; the limiter's failure policy takes over.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Keep trying forever, at most 1 s apart, so limits resume soon after Redis returns.
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
    enableReadyCheck: true,
    // No auto-pipelining: the limits batch their own changes into one command per event-loop
    // turn (counters.ts), and a pipeline object per lone command only costs CPU.
    enableAutoPipelining: false,
  });
  // Without a listener ioredis prints every reconnect failure; the limiter logs outages once.
  let warned = false;
  client.on("error", (err: Error) => {
    if (!warned) opts.logger?.warn({ err }, "redis connection error (further errors suppressed until ready)");
    warned = true;
  });
  client.on("ready", () => {
    warned = false;
  });
  return client;
}

/** Resolves when the client is ready, rejects after timeoutMs; for startup and tests. */
export async function redisReady(client: Redis, timeoutMs = 5_000): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(new Error(`redis not ready within ${timeoutMs} ms (status ${client.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once("ready", onReady);
  });
}
