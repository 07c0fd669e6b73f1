import { afterAll, describe, expect, it } from "vitest";
import { pingRedis, type RedisServer, startRedisServer } from "./redisServer.ts";

const started: RedisServer[] = [];

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

describe("startRedisServer", () => {
  it("starts on a free loopback port, answers PING, survives kill + restart on the same port, stops", async () => {
    const redis = await startRedisServer();
    started.push(redis);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await pingRedis(redis.port)).toBe(true);

    redis.kill();
    await expect.poll(() => pingRedis(redis.port, 100), { timeout: 2_000 }).toBe(false);
    await redis.restart();
    expect(await pingRedis(redis.port)).toBe(true);

    await redis.stop();
    expect(await pingRedis(redis.port, 100)).toBe(false);
    await redis.stop(); // idempotent
  });

  it("runs two servers side by side", async () => {
    const [a, b] = await Promise.all([startRedisServer(), startRedisServer()]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    expect(await pingRedis(a.port)).toBe(true);
    expect(await pingRedis(b.port)).toBe(true);
  });

  it("says how to install redis-server when the binary is missing", async () => {
    await expect(startRedisServer({ binary: "/nonexistent/redis-server" })).rejects.toThrow(
      /apt-get install redis-server/,
    );
  });

  it("fails clearly when the port is taken", async () => {
    const holder = await startRedisServer();
    started.push(holder);
    await expect(startRedisServer({ port: holder.port, startTimeoutMs: 3_000 })).rejects.toThrow(/exited/);
  });
});
