import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValues } from "../routing/healthProber.ts";
import { type Fixture, post, readSse, setFaults, startFixture } from "../test/fixtures.ts";
import { until } from "../test/poll.ts";

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture([{ preset: "qwen3-32b", replicas: 2 }]);
  await fx.gateway.prober.probeAll();
});
afterAll(() => fx?.close());

async function scrape(): Promise<string> {
  const res = await fetch(`${fx.opsUrl}/metrics`);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  return res.text();
}

describe("GET /metrics", () => {
  it("counts requests, tokens and latency per model, and reports replicas", async () => {
    const body = { model: "qwen", max_tokens: 5, messages: [{ role: "user", content: "hi" }] };
    const plain = (await (await post(`${fx.url}/v1/chat/completions`, body)).json()) as {
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    await readSse(await post(`${fx.url}/v1/chat/completions`, { ...body, stream: true }));
    await post(`${fx.url}/v1/chat/completions`, { ...body, max_tokens: 10_000_000 }).then((r) => r.text());
    const text = await scrape();
    expect(text).toContain(
      'gonka_requests_total{model="qwen3-32b",endpoint="chat.completions",status="200"} 2',
    );
    expect(text).toContain(
      'gonka_requests_total{model="qwen3-32b",endpoint="chat.completions",status="400"} 1',
    );
    expect(metricValues(text, "gonka_tokens_total").reduce((a, b) => a + b, 0)).toBe(
      2 * (plain.usage.prompt_tokens + plain.usage.completion_tokens),
    );
    expect(text).toMatch(/gonka_time_to_first_token_seconds_count\{model="qwen3-32b"\} 1/);
    expect(text).toMatch(
      /gonka_request_duration_seconds_count\{model="qwen3-32b",endpoint="chat.completions",streamed="false"\} 2/,
    );
    expect(metricValues(text, "gonka_replica_healthy")).toEqual([1, 1]);
    expect(metricValues(text, "gonka_replica_queue_depth")).toEqual([0, 0]);
    expect(metricValues(text, "gonka_requests_in_flight")).toEqual([1]);
  });

  it("keeps counting across scrapes: each scrape shows every request so far, once", async () => {
    const line = (text: string, status: string) =>
      Number(
        text
          .split("\n")
          .find((l) =>
            l.startsWith(
              `gonka_requests_total{model="qwen3-32b",endpoint="chat.completions",status="${status}"}`,
            ),
          )
          ?.split(" ")[1] ?? 0,
      );
    const body = { model: "qwen", max_tokens: 3, messages: [{ role: "user", content: "hi" }] };
    const first = await scrape();
    const tokensBefore = metricValues(first, "gonka_tokens_total").reduce((a, b) => a + b, 0);
    const answers: { usage: { prompt_tokens: number; completion_tokens: number } }[] = [];
    for (let i = 0; i < 3; i++)
      answers.push((await (await post(`${fx.url}/v1/chat/completions`, body)).json()) as (typeof answers)[0]);
    const second = await scrape();
    // A scrape with nothing new in between must not count anything twice.
    const third = await scrape();
    expect(line(second, "200")).toBe(line(first, "200") + 3);
    expect(line(third, "200")).toBe(line(second, "200"));
    const added = answers.reduce((n: number, a) => n + a.usage.prompt_tokens + a.usage.completion_tokens, 0);
    expect(metricValues(third, "gonka_tokens_total").reduce((a, b) => a + b, 0)).toBe(tokensBefore + added);
  });

  it("counts a client that went away", async () => {
    const sims = fx.sims.get("qwen3-32b")!;
    // Tokens 20 ms apart: the client leaves after the first frame, long before the last.
    await Promise.all(sims.map((s) => setFaults(s, [{ mode: "slow_tokens", ms: 20 }])));
    const body = {
      model: "qwen",
      max_tokens: 200,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    };
    const reader = (await post(`${fx.url}/v1/chat/completions`, body)).body!.getReader();
    await reader.read();
    await reader.cancel();
    let aborts: number[] = [];
    await until(async () => {
      aborts = metricValues(await scrape(), "gonka_client_aborts_total");
      return aborts.length > 0;
    }, "the abort is counted");
    expect(aborts).toEqual([1]);
    await Promise.all(sims.map((s) => setFaults(s, [])));
  });
});

/** Blocks this process's event loop (the fixture gateway runs in it) for `ms`. */
function blockLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: a synchronous stall, like a long sync database write
  }
}

describe("event-loop delay on /metrics", () => {
  const quantile = (text: string, q: string) => {
    const line = text
      .split("\n")
      .find((l) => l.startsWith(`gonka_event_loop_delay_seconds{quantile="${q}"}`));
    expect(line, `quantile ${q} exported`).toBeDefined();
    return Number(line!.split(" ")[1]);
  };

  it("exports the delay by quantile, and a blocked loop shows in the next scrape", async () => {
    const before = await scrape();
    for (const q of ["0.5", "0.9", "0.99", "0.999", "1"])
      expect(quantile(before, q)).toBeGreaterThanOrEqual(0);
    await new Promise((r) => setTimeout(r, 50));
    blockLoop(150);
    await new Promise((r) => setTimeout(r, 30));
    const after = await scrape();
    expect(quantile(after, "1")).toBeGreaterThanOrEqual(0.13);
    expect(quantile(after, "1")).toBeLessThan(5);
  });
});
