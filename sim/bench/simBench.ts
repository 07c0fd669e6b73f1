/**
 * Throughput of the simulator with zero simulated latency: how many requests a
 * second one simulator process serves, and what each costs it in CPU.
 * Usage: node sim/bench/simBench.ts [--seconds 5] [--concurrency 64] [--model kimi-k2.5]
 */
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { spawnSimulator } from "../spawn.ts";

const TARGET_RPS = 5000;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "64" },
    model: { type: "string", default: "kimi-k2.5" },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

interface Scenario {
  name: string;
  body: string;
}

const messages = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Give me a short summary of the plan for today." },
];
const scenarios: Scenario[] = [
  { name: "chat non-stream", body: JSON.stringify({ model: values.model, messages }) },
  {
    name: "chat stream",
    body: JSON.stringify({
      model: values.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    }),
  },
];

interface Result {
  name: string;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number;
}

async function simCpuMicros(pool: Pool): Promise<number> {
  const res = await pool.request({ path: "/sim/stats", method: "GET" });
  const stats = (await res.body.json()) as { cpu: { user: number; system: number } };
  return stats.cpu.user + stats.cpu.system;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function runScenario(pool: Pool, scenario: Scenario): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const cpuBefore = await simCpuMicros(pool);
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await pool.request({
          path: "/v1/chat/completions",
          method: "POST",
          headers: { "content-type": "application/json" },
          body: scenario.body,
        });
        await res.body.text();
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = await simCpuMicros(pool);
  const sorted = Float64Array.from(latencies).sort();
  return {
    name: scenario.name,
    requests: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    cpuUsPerRequest: (cpuAfter - cpuBefore) / Math.max(1, latencies.length),
  };
}

const sim = await spawnSimulator({ model: values.model });
const pool = new Pool(sim.url, { connections: concurrency, pipelining: 1 });
try {
  // Warm up JIT and connections before measuring.
  await runScenario(pool, { ...scenarios[0]!, name: "warmup" }).catch(() => undefined);
  const results: Result[] = [];
  for (const s of scenarios) results.push(await runScenario(pool, s));
  console.log(
    `simulator ${sim.model} (pid ${sim.pid}), ${seconds}s per scenario, concurrency ${concurrency}\n`,
  );
  console.log("scenario          requests  errors     req/s   p50 ms   p99 ms   sim CPU µs/req");
  for (const r of results) {
    console.log(
      `${r.name.padEnd(16)} ${String(r.requests).padStart(9)} ${String(r.errors).padStart(7)} ${r.rps.toFixed(0).padStart(9)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${r.cpuUsPerRequest.toFixed(0).padStart(16)}`,
    );
  }
  const nonStream = results[0]!;
  // CPU per request is what decides "on one core": 1e6 µs / cost is the single-core ceiling.
  const singleCoreRps = 1e6 / Math.max(1, nonStream.cpuUsPerRequest);
  const met = nonStream.rps >= TARGET_RPS || singleCoreRps >= TARGET_RPS;
  console.log(
    `\nnon-streaming target ${TARGET_RPS} req/s on one core: ${met ? "MET" : "NOT MET"} (measured ${nonStream.rps.toFixed(0)} req/s; CPU-bound ceiling ${singleCoreRps.toFixed(0)} req/s)`,
  );
  process.exitCode = met ? 0 : 1;
} finally {
  await pool.close();
  await sim.stop();
}
