import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../../harness/redisServer.ts";
import { until } from "../test/poll.ts";
import { formatReset } from "./headers.ts";
import { rateLimitsContract, refusal, subject, tier } from "./rateLimits.contract.ts";
import { createRateLimits, type RateLimitLogger } from "./rateLimits.ts";
import { createRedisClient, redisReady } from "./redisClient.ts";

let redis: RedisServer;
const clients: Redis[] = [];

async function client(): Promise<Redis> {
  const c = createRedisClient(redis.url);
  clients.push(c);
  await redisReady(c);
  return c;
}

beforeAll(async () => {
  redis = await startRedisServer();
  await client(); // the client shared by the Redis contract run
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

rateLimitsContract("memory", () => createRateLimits({ failurePolicy: "fail-closed" }));
rateLimitsContract("redis", () =>
  createRateLimits({ redis: clients[0], failurePolicy: "fail-closed", keyPrefix: `t:${randomUUID()}` }),
);

describe("formatReset", () => {
  it("formats like OpenAI's reset headers", () => {
    expect(formatReset(0)).toBe("0s");
    expect(formatReset(250)).toBe("250ms");
    expect(formatReset(1_000)).toBe("1s");
    expect(formatReset(59_001)).toBe("1m0s");
    expect(formatReset(360_000)).toBe("6m0s");
    expect(formatReset(3_723_000)).toBe("1h2m3s");
  });
});

describe("RateLimits over a shared redis-server", () => {
  it("sends one Redis command per admission and one per settle", async () => {
    const c = await client();
    const limits = createRateLimits({
      redis: c,
      failurePolicy: "fail-closed",
      keyPrefix: `t:${randomUUID()}`,
    });
    const s = subject(tier());
    await (await limits.admit(s, 10)).settle(4); // loads the script
    await c.config("RESETSTAT");
    for (let i = 0; i < 10; i++) {
      const admission = await limits.admit(s, 100);
      await admission.settle(i % 2 ? 40 : 160); // refund or extra charge, with the slot's release
    }
    const stats = (await c.info("commandstats")).split("\n");
    const calls = (name: string) =>
      Number(stats.find((l) => l.startsWith(`cmdstat_${name}:`))?.match(/calls=(\d+)/)?.[1] ?? 0);
    // Three counters taken and two given back per request: 50 scripts before they were combined.
    expect(calls("evalsha") + calls("eval")).toBe(20);
    expect(await limits.inFlight(s.keyId)).toBe(0);
  });

  it("batches the admissions of one event-loop turn into one command, each counted in order", async () => {
    const c = await client();
    const limits = createRateLimits({
      redis: c,
      failurePolicy: "fail-closed",
      keyPrefix: `t:${randomUUID()}`,
    });
    const shared = subject(tier({ requestsPerMinute: 10 }));
    const others = Array.from({ length: 5 }, () => subject(tier()));
    await (await limits.admit(others[0]!, 1)).settle(1); // loads the script
    await c.config("RESETSTAT");
    const burst = await Promise.allSettled([
      ...Array.from({ length: 25 }, () => limits.admit(shared, 10)),
      ...others.map((o) => limits.admit(o, 10)),
    ]);
    const stats = await c.info("commandstats");
    // One for the 30 admissions, one for what the 15 refused ones gave back.
    expect(Number(stats.match(/cmdstat_evalsha:calls=(\d+)/)?.[1])).toBe(2);
    const sharedResults = burst.slice(0, 25);
    expect(sharedResults.filter((r) => r.status === "fulfilled")).toHaveLength(10);
    // Remaining requests count down one by one, as if the calls had been made in turn.
    const remaining = sharedResults
      .flatMap((r) => (r.status === "fulfilled" ? [r.value.headers["x-ratelimit-remaining-requests"]] : []))
      .map(Number)
      .sort((a, b) => b - a);
    expect(remaining).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    for (const r of burst.slice(25)) expect(r.status).toBe("fulfilled");
    expect(await limits.inFlight(shared.keyId)).toBe(10);
  });

  it("two processes sharing one Redis admit exactly N of a concurrent burst of 5N", async () => {
    const prefix = `t:${randomUUID()}`;
    const [a, b] = [await client(), await client()];
    const gatewayA = createRateLimits({ redis: a, failurePolicy: "fail-closed", keyPrefix: prefix });
    const gatewayB = createRateLimits({ redis: b, failurePolicy: "fail-closed", keyPrefix: prefix });
    const n = 20;
    const s = subject(tier({ requestsPerMinute: n }));
    const results = await Promise.allSettled(
      Array.from({ length: 5 * n }, (_, i) => (i % 2 ? gatewayA : gatewayB).admit(s, 10)),
    );
    const admitted = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(admitted.length).toBe(n);
    expect(refused.length).toBe(4 * n);
    for (const err of refused) {
      expect(err.status).toBe(429);
      expect(Number(err.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
    expect(await gatewayA.inFlight(s.keyId)).toBe(n);
    await Promise.all(admitted.map((r) => (r.status === "fulfilled" ? r.value.settle(10) : undefined)));
    expect(await gatewayB.inFlight(s.keyId)).toBe(0);
  });

  it("Redis killed: fail-open admits and warns once, fail-closed answers 503, nothing hangs; limits resume", async () => {
    const prefix = `t:${randomUUID()}`;
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger: RateLimitLogger = {
      warn: (_o, msg) => warnings.push(msg),
      info: (_o, msg) => infos.push(msg),
    };
    const open = createRateLimits({
      redis: await client(),
      failurePolicy: "fail-open",
      logger,
      keyPrefix: prefix,
    });
    const closed = createRateLimits({
      redis: await client(),
      failurePolicy: "fail-closed",
      keyPrefix: prefix,
    });
    const s = subject(tier({ requestsPerMinute: 2 }));
    const held = await open.admit(s, 5); // in flight when Redis dies

    redis.kill();
    // Wait until both clients have noticed the dropped connection.
    await until(() => clients.slice(-2).every((c) => c.status !== "ready"), "clients saw Redis go");
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const admission = await open.admit(s, 5);
      expect(admission.headers).toEqual({});
      await admission.settle(5);
      const err = await refusal(closed.admit(s, 5));
      expect(err.status).toBe(503);
      expect(err.type).toBe("service_unavailable");
      expect(err.code).toBe("rate_limiter_unavailable");
      expect(Date.now() - started).toBeLessThan(1_000);
    }
    const releaseStarted = Date.now();
    await held.settle(5); // a release during the outage neither throws nor hangs
    expect(Date.now() - releaseStarted).toBeLessThan(1_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/without limits/);

    await redis.restart(); // empty, like a Redis that lost its data
    await Promise.all(clients.slice(-2).map((c) => redisReady(c, 5_000)));
    for (const limits of [open, closed]) {
      const fresh = subject(tier({ requestsPerMinute: 2 }));
      await (await limits.admit(fresh, 1)).settle(1);
      await (await limits.admit(fresh, 1)).settle(1);
      expect((await refusal(limits.admit(fresh, 1))).status).toBe(429);
    }
    expect(infos).toHaveLength(1);
    await redisReady(clients[0]!, 5_000); // leave the shared client usable for other tests
  });
});
