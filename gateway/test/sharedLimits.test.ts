import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../../harness/redisServer.ts";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { post } from "./fixtures.ts";
import { until } from "./poll.ts";
import { type ProcessFixture, startProcessFixture } from "./processFixture.ts";

const N = 10;
let fx: ProcessFixture;
let redis: RedisServer;
let gateways: SpawnedGateway[];
const chat = { model: "llama-4-maverick", max_tokens: 4, messages: [{ role: "user", content: "hi" }] };

beforeAll(async () => {
  redis = await startRedisServer();
  fx = await startProcessFixture({
    preset: "llama-4-maverick",
    config: (c) => ({
      ...c,
      rateLimits: { failurePolicy: "fail-open" },
      tiers: { small: { requestsPerMinute: N, tokensPerMinute: 1_000_000, concurrentRequests: 1_000 } },
    }),
  });
  gateways = await Promise.all([0, 1].map(() => fx.startGateway({ REDIS_URL: redis.url })));
}, 60_000);
afterAll(async () => {
  await fx?.close();
  await redis?.stop();
});

async function burst(secret: string, count: number): Promise<Response[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      post(`${gateways[i % 2]!.url}/v1/chat/completions`, chat, { authorization: `Bearer ${secret}` }),
    ),
  );
}

describe("limits shared through Redis by two gateway processes", () => {
  it(`admit exactly ${N} of a concurrent burst of ${5 * N}; the rest get 429 with Retry-After`, async () => {
    const { secret } = await fx.createKey(gateways[0]!, { name: "burst", tier: "small" });
    const responses = await burst(secret, 5 * N);
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(N);
    expect(limited).toHaveLength(4 * N);
    for (const r of limited) {
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      const body = (await r.json()) as { error: { code: string; type: string } };
      expect(body.error).toMatchObject({ code: "rate_limit_exceeded", type: "rate_limit_error" });
    }
    await Promise.all(ok.map((r) => r.text()));
  });

  it("keeps serving (fail-open) while Redis is down, without hanging, and limits resume when it returns", async () => {
    const { secret } = await fx.createKey(gateways[1]!, { name: "outage", tier: "small" });
    redis.kill();
    const started = Date.now();
    const during = await burst(secret, 2 * N);
    expect(during.map((r) => r.status).every((s) => s === 200)).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    await Promise.all(during.map((r) => r.text()));

    await redis.restart();
    // Poll until both gateways' clients have reconnected and limit again.
    await until(
      async () => {
        const responses = await burst(secret, N + 2);
        await Promise.all(responses.map((r) => r.text()));
        return responses.some((r) => r.status === 429);
      },
      "limits resumed after Redis returned",
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  });
});
