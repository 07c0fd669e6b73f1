import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "./server.ts";
import { startSimulator } from "./testing.ts";

function gauge(metrics: string, name: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.split(" ").at(-1)) : Number.NaN;
}

/** Polls until `check` holds, so timing-based tests survive a busy machine. */
async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

const body = JSON.stringify({
  model: "kimi-k2.5",
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 5,
});

describe("latency model, queue and metrics", () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("queues beyond maxConcurrency: waiting grows, then drains to 0", async () => {
    const started = await startSimulator({ model: "kimi-k2.5", maxConcurrency: 2, ttftMs: 400, tpotMs: 5 });
    sim = started.sim;
    const url = started.url;
    const requests = Array.from({ length: 6 }, () =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }).then((r) => r.json()),
    );
    await until(() => sim!.stats().waiting === 4);
    const busy = await scrape(url);
    expect(gauge(busy, "vllm:num_requests_running")).toBe(2);
    expect(gauge(busy, "vllm:num_requests_waiting")).toBe(4);
    expect(gauge(busy, "vllm:kv_cache_usage_perc")).toBeGreaterThan(0);
    // GPU utilisation comes from a (simulated) dcgm-exporter, never from the engine's /metrics.
    expect(busy).not.toContain("DCGM_FI_DEV_GPU_UTIL");
    const dcgm = await (await fetch(`${url}/sim/dcgm`)).text();
    expect(dcgm).toMatch(/DCGM_FI_DEV_GPU_UTIL\{gpu="7",[^}]*\} [1-9]/);
    expect(sim.stats()).toMatchObject({ running: 2, waiting: 4 });
    await Promise.all(requests);
    const idle = await scrape(url);
    expect(gauge(idle, "vllm:num_requests_waiting")).toBe(0);
    expect(gauge(idle, "vllm:num_requests_running")).toBe(0);
    // Names, labels, reasons and buckets as vLLM 0.20.2's /metrics (read from the reference engine).
    expect(idle).toContain('vllm:time_to_first_token_seconds_count{model_name="kimi-k2.5",engine="0"} 6');
    expect(idle).toContain('vllm:generation_tokens_total{model_name="kimi-k2.5",engine="0"} 30');
    expect(idle).toMatch(
      /vllm:request_success_total\{model_name="kimi-k2.5",engine="0",finished_reason="length"\} 6/,
    );
    expect(idle).toMatch(/vllm:request_success_total\{[^}]*finished_reason="abort"\} 0/);
    expect(idle).toMatch(/vllm:inter_token_latency_seconds_count\{model_name="kimi-k2.5",engine="0"\} 24/);
    expect(idle).toMatch(/vllm:prompt_tokens_total\{model_name="kimi-k2.5",engine="0"\} \d+/);
    expect(idle).toContain(
      'vllm:time_to_first_token_seconds_bucket{le="2560",model_name="kimi-k2.5",engine="0"}',
    );
    expect(idle).toContain(
      'vllm:inter_token_latency_seconds_bucket{le="80",model_name="kimi-k2.5",engine="0"}',
    );
  });

  it("applies time to first token and time per output token", async () => {
    const started = await startSimulator({ model: "kimi-k2.5", ttftMs: 100, tpotMs: 10 });
    sim = started.sim;
    const t0 = performance.now();
    const res = await fetch(`${started.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await res.json();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(135);
  });

  it("counts a client abort as a cancellation and stops generating", async () => {
    const started = await startSimulator({ model: "kimi-k2.5", tpotMs: 50, maxConcurrency: 1 });
    sim = started.sim;
    const controller = new AbortController();
    const streamBody = JSON.stringify({
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    const res = await fetch(`${started.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: streamBody,
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    // A second request waits in the queue and is aborted there.
    const queued = new AbortController();
    const waiting = fetch(`${started.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: queued.signal,
    }).catch(() => null);
    await until(() => sim!.stats().waiting === 1);
    expect(sim.stats().waiting).toBe(1);
    queued.abort();
    controller.abort();
    await waiting;
    await until(() => sim!.stats().cancelled === 2 && sim!.stats().running === 0);
    const stats = sim.stats();
    expect(stats.cancelled).toBe(2);
    expect(stats.completed).toBe(0);
    expect(stats.running).toBe(0);
    expect(stats.waiting).toBe(0);
    const reset = await fetch(`${started.url}/sim/stats/reset`, { method: "POST" });
    expect(((await reset.json()) as { cancelled: number }).cancelled).toBe(0);
  });

  it("reports 503 while loading, then 200", async () => {
    const started = await startSimulator({ model: "kimi-k2.5", loadMs: 200 });
    sim = started.sim;
    expect((await fetch(`${started.url}/health`)).status).toBe(503);
    expect(
      (
        await fetch(`${started.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        })
      ).status,
    ).toBe(503);
    await new Promise((r) => setTimeout(r, 220));
    expect((await fetch(`${started.url}/health`)).status).toBe(200);
  });

  it("keeps two simulators in one process apart", async () => {
    const a = await startSimulator({ model: "kimi-k2.5" });
    const b = await startSimulator({ model: "qwen3-32b" });
    try {
      await fetch(`${a.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(a.sim.stats().completed).toBe(1);
      expect(b.sim.stats().completed).toBe(0);
      expect(await scrape(b.url)).not.toContain("kimi-k2.5");
    } finally {
      await Promise.all([a.sim.close(), b.sim.close()]);
    }
  });
});
