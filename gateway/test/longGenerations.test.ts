/**
 * Answers that take longer than `firstByteMs` to generate. A non-streamed answer's headers
 * come only when it is complete, so it runs under the whole-generation budget; a timeout
 * after a replica accepted the request is neither retried nor held against the replica.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Fixture, post, readSse, simStats, startFixture } from "./fixtures.ts";

let fx: Fixture;
// Each generated token takes 30 ms: a 40-token answer takes over a second.
const SIM = ["--tpot-ms", "30"];

beforeAll(async () => {
  fx = await startFixture(
    [
      { preset: "kimi-k2.5", replicas: 2, simArgs: SIM },
      { preset: "qwen3-32b", replicas: 2, simArgs: SIM },
    ],
    (c) => ({
      ...c,
      models: c.models.map((m) =>
        // The timeouts under test; retries and everything else stay at their defaults.
        m.id === "qwen3-32b"
          ? { ...m, timeouts: { firstByteMs: 300, generationMs: 500 } }
          : { ...m, timeouts: { firstByteMs: 300 } },
      ),
    }),
  );
});
afterAll(() => fx?.close());

async function chatCount(preset: string): Promise<number> {
  const stats = await Promise.all(fx.sims.get(preset)!.map(simStats));
  return stats.reduce((n, s) => n + s.chat, 0);
}

function replicasHealthy(model: string): boolean[] {
  return fx.gateway.registry.resolve(model)!.replicas.map((r) => r.healthy(Date.now()));
}

const long = (model: string, stream: boolean) => ({
  model,
  stream,
  max_tokens: 40,
  messages: [{ role: "user", content: "write a long answer" }],
});

describe("long generations", () => {
  it("a non-streamed answer that takes longer than firstByteMs arrives, sent to one replica only", async () => {
    const before = await chatCount("kimi-k2.5");
    const started = Date.now();
    const res = await post(`${fx.url}/v1/chat/completions`, long("kimi-k2.5", false));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(Date.now() - started).toBeGreaterThan(300);
    const body = (await res.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBeGreaterThan(10);
    expect((await chatCount("kimi-k2.5")) - before).toBe(1);
    expect(replicasHealthy("kimi-k2.5")).toEqual([true, true]);
  });

  it("a streamed answer that takes longer than firstByteMs streams to the end", async () => {
    const started = Date.now();
    const res = await post(`${fx.url}/v1/chat/completions`, long("kimi-k2.5", true));
    expect(res.status).toBe(200);
    const events = await readSse(res);
    expect(Date.now() - started).toBeGreaterThan(300);
    expect(events.at(-1)).toBe("[DONE]");
    expect(replicasHealthy("kimi-k2.5")).toEqual([true, true]);
  });

  it("past the generation budget: 504, not retried on another replica, no replica marked unhealthy", async () => {
    const before = await chatCount("qwen3-32b");
    const res = await post(`${fx.url}/v1/chat/completions`, long("qwen3-32b", false));
    expect(res.status).toBe(504);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("upstream_timeout");
    expect(body.error.message).toMatch(/did not finish within 500 ms/);
    expect((await chatCount("qwen3-32b")) - before).toBe(1);
    expect(replicasHealthy("qwen3-32b")).toEqual([true, true]);
  });
});
