/**
 * Limits under load (TEST-05): concurrent clients on keys of two tiers, through two gateway
 * processes sharing Redis (rate-limit counters) and Postgres (keys, usage), driven by the
 * load runner's engine. Per key, within one window, the gateways admit exactly the tier's
 * requests per minute (never more), refuse the rest with a proper 429, and every admitted
 * request completes.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProcessFixture, startProcessFixture } from "../gateway/test/processFixture.ts";
import { type PostgresServer, startPostgresServer } from "../harness/postgresServer.ts";
import { type RedisServer, startRedisServer } from "../harness/redisServer.ts";
import type { SpawnedGateway } from "../harness/spawnGateway.ts";
import { type Sample, startLoad } from "./engine.ts";
import type { Scenario } from "./scenario.ts";

const TIERS = {
  small: { requestsPerMinute: 12, tokensPerMinute: 10_000_000, concurrentRequests: 1_000 },
  medium: { requestsPerMinute: 30, tokensPerMinute: 10_000_000, concurrentRequests: 1_000 },
} as const;
const KEYS_PER_TIER = 3;
/** Clients per key on each gateway: 2 × 4 = 8 concurrent clients per key, 48 in all. */
const CLIENTS_PER_KEY_PER_GATEWAY = 4;

let postgres: PostgresServer;
let redis: RedisServer;
let fx: ProcessFixture;
let a: SpawnedGateway;
let b: SpawnedGateway;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
  const databaseUrl = await postgres.createDatabase("load");
  // Slow enough tokens that requests overlap: admissions race with requests in flight.
  fx = await startProcessFixture({
    preset: "qwen3-32b",
    simArgs: ["--ttft-ms", "30", "--tpot-ms", "5"],
    config: (c) => ({ ...c, tiers: TIERS }),
  });
  const replica = (name: string) =>
    fx.startGateway({
      GONKA_DATA_DIR: join(fx.dir, `data-${name}`),
      GONKA_DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
    });
  // One after the other: the first applies the migrations, the second finds them done.
  a = await replica("a");
  b = await replica("b");
}, 60_000);

afterAll(async () => {
  await fx?.close();
  await Promise.all([postgres?.stop(), redis?.stop()]);
});

describe("limits under load, two gateways on shared Redis and Postgres", () => {
  it("per key, admitted requests equal the tier's limit, the rest are 429 with Retry-After, none admitted fails", async () => {
    const keys = await Promise.all(
      (Object.keys(TIERS) as (keyof typeof TIERS)[]).flatMap((tier) =>
        Array.from({ length: KEYS_PER_TIER }, async (_, i) => ({
          tier,
          ...(await fx.createKey(i % 2 ? a : b, { name: `${tier}-${i}`, tier })),
        })),
      ),
    );
    // Each key is sent 2.5 × its limit, half through each gateway, streamed and not, all at once.
    const runs = keys.flatMap((key) => {
      const limit = TIERS[key.tier].requestsPerMinute;
      const scenario: Scenario = {
        name: `limits-${key.tier}`,
        description: "limits under load",
        model: "qwen3-32b",
        vus: CLIENTS_PER_KEY_PER_GATEWAY,
        thinkTimeMs: 0,
        durationSeconds: 30,
        requests: Math.ceil((limit * 2.5) / 2),
        stream: "mixed",
        maxTokens: 8,
        prompt: "hi",
        thresholds: { errorRate: { max: 0 }, share429: {} },
      };
      return [a, b].map((gw) => ({
        key,
        gw,
        run: startLoad({ baseUrl: gw.url, apiKey: key.secret, scenario }),
      }));
    });
    await Promise.all(runs.map((r) => r.run.done));

    for (const key of keys) {
      const samples: Sample[] = runs.filter((r) => r.key === key).flatMap((r) => r.run.samples);
      const limit = TIERS[key.tier].requestsPerMinute;
      const label = `${key.tier} key ${key.id}`;
      expect(samples.length, label).toBe(2 * Math.ceil((limit * 2.5) / 2));
      const admitted = samples.filter((s) => s.status === 200);
      const refused = samples.filter((s) => s.status === 429);
      expect(admitted.length, label).toBe(limit);
      expect(refused.length, label).toBe(samples.length - limit);
      expect(
        admitted.filter((s) => s.failed),
        `${label}: admitted requests that did not complete`,
      ).toEqual([]);
      for (const r of refused) {
        expect(r.errorType, label).toBe("rate_limit_error");
        expect(Number(r.retryAfter), label).toBeGreaterThanOrEqual(1);
        expect(Number(r.retryAfter), label).toBeLessThanOrEqual(60);
      }
    }
    // Both gateways admitted some of the traffic (the limit is shared, not per process).
    for (const gw of [a, b]) {
      const admittedVia = runs
        .filter((r) => r.gw === gw)
        .flatMap((r) => r.run.samples.filter((s) => s.status === 200));
      expect(admittedVia.length).toBeGreaterThan(0);
    }
  });
});
