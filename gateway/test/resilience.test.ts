import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SpawnedSimulator } from "../../sim/spawn.ts";
import { homeReplica } from "../routing/pick.ts";
import { type Fixture, post, readSse, setFaults, setHealthy, simStats, startFixture } from "./fixtures.ts";
import { until } from "./poll.ts";

let fx: Fixture;
const chat = { model: "kimi-k2.5", max_tokens: 16, messages: [{ role: "user", content: "hello" }] };

beforeAll(async () => {
  fx = await startFixture([{ preset: "kimi-k2.5", replicas: 2, simArgs: ["--tpot-ms", "5"] }], (c) => ({
    ...c,
    healthIntervalMs: 100,
    replicaCooldownMs: 60_000,
    models: c.models.map((m) => ({
      ...m,
      maxRetries: 1,
      timeouts: { firstByteMs: 400, idleMs: 400 },
      // The first replica has a dcgm-exporter (the simulator's stand-in), the second none.
      replicas: (m.replicas ?? []).map((r, i) =>
        i === 0 ? { ...r, gpuMetricsUrl: `${r.url}/sim/dcgm` } : r,
      ),
    })),
  }));
});
afterAll(() => fx?.close());
beforeEach(async () => {
  const [a, b] = fx.sims.get("kimi-k2.5")!;
  await Promise.all([setFaults(a!, []), setFaults(b!, []), setHealthy(a!, true), setHealthy(b!, true)]);
  for (const r of fx.gateway.registry.resolve("kimi-k2.5")!.replicas) r.downUntil = 0;
  await fx.gateway.prober.probeAll();
});

describe("resilience", () => {
  it("balances across replicas by outstanding requests", async () => {
    const [a, b] = fx.sims.get("kimi-k2.5")!;
    const before = await Promise.all([simStats(a!), simStats(b!)]);
    await Promise.all(
      Array.from({ length: 20 }, () => post(`${fx.url}/v1/chat/completions`, chat).then((r) => r.text())),
    );
    const after = await Promise.all([simStats(a!), simStats(b!)]);
    const served = after.map((s, i) => s.chat - before[i]!.chat);
    expect(served[0]! + served[1]!).toBe(20);
    expect(Math.min(...served)).toBeGreaterThanOrEqual(5);
  });

  it("a stalled replica times out on a stream's first byte and the stream is served by the other", async () => {
    const [a] = fx.sims.get("kimi-k2.5")!;
    await setFaults(a!, [{ mode: "stall", ms: 5_000 }]);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => post(`${fx.url}/v1/chat/completions`, { ...chat, stream: true })),
    );
    for (const r of results) expect(r.status).toBe(200);
    for (const events of await Promise.all(results.map(readSse))) expect(events.at(-1)).toBe("[DONE]");
    const replica = fx.gateway.registry.resolve("kimi-k2.5")!.replicas.find((r) => r.url === a!.url)!;
    expect(replica.lastError).toMatch(/timeout/);
  });

  it("sticks a session to one replica while it is healthy", async () => {
    const pool = fx.gateway.registry.resolve("kimi-k2.5")!;
    const home = homeReplica(pool.snapshots(), "sess-1")!;
    for (let i = 0; i < 5; i++) {
      const res = await post(`${fx.url}/v1/chat/completions`, chat, { "x-session-id": "sess-1" });
      await res.json();
      const outcome = fx.outcomes.find((o) => o.requestId === res.headers.get("x-request-id"))!;
      expect(outcome.replica).toBe(home.id);
      expect(outcome.sessionId).toBe("sess-1");
    }
  });

  it("takes a replica out on a failing /health probe and brings it back when it recovers", async () => {
    const [a] = fx.sims.get("kimi-k2.5")!;
    const replica = fx.gateway.registry.resolve("kimi-k2.5")!.replicas.find((r) => r.url === a!.url)!;
    await setHealthy(a!, false);
    await fx.gateway.prober.probeAll();
    expect(replica.healthy(Date.now())).toBe(false);
    const health = (await (await fetch(`${fx.opsUrl}/health/models`)).json()) as {
      data: Record<string, unknown>[];
    };
    expect(health.data[0]!["status"]).toBe("degraded");
    const before = await simStats(a!);
    await Promise.all(
      Array.from({ length: 6 }, () => post(`${fx.url}/v1/chat/completions`, chat).then((r) => r.text())),
    );
    expect((await simStats(a!)).chat).toBe(before.chat);
    await setHealthy(a!, true);
    await fx.gateway.prober.probeAll();
    expect(replica.healthy(Date.now())).toBe(true);
    expect((await fetch(`${fx.url}/readyz`)).status).toBe(200);
  });

  it("reports per-model health with queue depth and GPU utilisation from the engines' metrics", async () => {
    await fx.gateway.prober.probeAll();
    const health = (await (await fetch(`${fx.opsUrl}/health/models`)).json()) as {
      data: Record<string, unknown>[];
    };
    const model = health.data[0]!;
    expect(model).toMatchObject({ model: "kimi-k2.5", status: "ok", replicas_healthy: 2, replicas_total: 2 });
    expect(typeof model["queue_depth"]).toBe("number");
    expect(typeof model["gpu_utilization"]).toBe("number");
    // GPU utilisation is read from dcgm-exporter only: the replica without one reports none.
    const replicas = model["replicas"] as Record<string, unknown>[];
    expect(typeof replicas[0]!["gpu_utilization"]).toBe("number");
    expect(replicas[1]!["gpu_utilization"]).toBeNull();
    // Replica errors can name internal addresses: only the admin API shows them.
    expect((model["replicas"] as Record<string, unknown>[])[0]).not.toHaveProperty("last_error");
  });

  it("a client abort reaches the simulator as a cancelled request", async () => {
    const sims = fx.sims.get("kimi-k2.5")!;
    const before = await Promise.all(sims.map(simStats));
    const res = await post(`${fx.url}/v1/chat/completions`, { ...chat, stream: true, max_tokens: 2_000 }, {});
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    expect(await cancellationsSince(sims, before)).toBe(1);
    const outcome = fx.outcomes.find((o) => o.requestId === res.headers.get("x-request-id"))!;
    expect(outcome.clientAborted).toBe(true);
  });

  it("a client that gives up on a non-streamed answer cancels it on the engine before any byte came back", async () => {
    const sims = fx.sims.get("kimi-k2.5")!;
    const before = await Promise.all(sims.map(simStats));
    // The engine would take 10 s before its first byte; the client leaves after 300 ms.
    await Promise.all(sims.map((s) => setFaults(s, [{ mode: "stall", ms: 10_000, stream: false }])));
    const client = new AbortController();
    const answer = post(`${fx.url}/v1/chat/completions`, chat, {}, client.signal);
    setTimeout(() => client.abort(), 300);
    await expect(answer).rejects.toThrow();
    const startedAt = Date.now();
    expect(await cancellationsSince(sims, before)).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    await until(
      () => fx.outcomes.some((o) => o.clientAborted && !o.streamed && o.status === 499),
      "the outcome records the abort",
    );
  });

  it("a stream dropped mid-way ends with an OpenAI error event, not a silent clean end", async () => {
    const sims = fx.sims.get("kimi-k2.5")!;
    await Promise.all(sims.map((s) => setFaults(s, [{ mode: "drop_mid_stream", afterChunks: 3 }])));
    const frames = await readSse(await post(`${fx.url}/v1/chat/completions`, { ...chat, stream: true }));
    expect(frames).not.toContain("[DONE]");
    const last = JSON.parse(frames.at(-1)!);
    expect(last.error).toMatchObject({ type: "server_error", code: "upstream_error" });
  });

  it("passes vLLM's own mid-stream error event on in OpenAI's shape and ends the stream", async () => {
    const sims = fx.sims.get("kimi-k2.5")!;
    await Promise.all(sims.map((s) => setFaults(s, [{ mode: "error_mid_stream", afterChunks: 3 }])));
    const frames = await readSse(await post(`${fx.url}/v1/chat/completions`, { ...chat, stream: true }));
    const errors = frames.filter((f) => f.includes('"error"')).map((f) => JSON.parse(f));
    expect(errors).toHaveLength(1);
    expect(Object.keys(errors[0].error).sort()).toEqual(["code", "message", "param", "type"]);
    expect(frames.at(-1)).toBe("[DONE]");
  });

  it("fails over when a replica is killed mid-test", async () => {
    const [a, b] = fx.sims.get("kimi-k2.5")!;
    // Requests keep going out one after another on four workers; the kill lands mid-load.
    let sent = 0;
    const worker = async () => {
      const statuses: number[] = [];
      while (sent < 30) {
        sent++;
        const res = await post(`${fx.url}/v1/chat/completions`, chat);
        await res.text();
        statuses.push(res.status);
      }
      return statuses;
    };
    const load = Array.from({ length: 4 }, worker);
    await until(() => sent >= 8, "load under way");
    a!.kill("SIGKILL");
    const statuses = (await Promise.all(load)).flat();
    expect(statuses).toHaveLength(30);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect((await simStats(b!)).chat).toBeGreaterThan(0);
  });
});

/** How many requests the simulators counted as cancelled since `before`, once there is one. */
async function cancellationsSince(
  sims: SpawnedSimulator[],
  before: Awaited<ReturnType<typeof simStats>>[],
): Promise<number> {
  let cancelled = 0;
  await until(async () => {
    const after = await Promise.all(sims.map(simStats));
    cancelled = after.reduce((n, s, j) => n + s.cancelled - before[j]!.cancelled, 0);
    return cancelled > 0;
  }, "the simulator saw the cancellation");
  return cancelled;
}
