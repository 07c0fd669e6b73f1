/**
 * Gateway benchmark (`npm run bench:gateway`): the same simulator (zero latency)
 * reached three ways — directly, through a bare Node proxy (the floor), and
 * through the gateway — measured in one run so the ratios mean something.
 *
 *   --seconds N    duration of each measurement (default 4)
 *   --cpu-prof     write a V8 CPU profile of the gateway to ./reports/
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ManagedChild, parseLogLine, spawnNode } from "../../harness/childProcess.ts";
import { spawnGateway } from "../../harness/spawnGateway.ts";
import { spawnSimulator } from "../../sim/spawn.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { fixedRate, type LoadResult, percentile, processCpuMicros, saturate } from "./loadgen.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "4" }, "cpu-prof": { type: "boolean" } },
});
const durationMs = Number(values.seconds) * 1000;
const MODEL = "llama-4-maverick";
const PATH = "/v1/chat/completions";
const plain = JSON.stringify({
  model: MODEL,
  max_tokens: 16,
  messages: [{ role: "user", content: "Say hi" }],
});
const streamed = JSON.stringify({
  model: MODEL,
  max_tokens: 64,
  stream: true,
  messages: [{ role: "user", content: "Tell a story" }],
});

interface Row {
  path: string;
  rps: number;
  cpuUsPerReq: number | null;
  p50: number;
  p99: number;
  addedP50: number | null;
  addedP99: number | null;
  cpuUsPerChunk?: number | null;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "gonka-bench-"));
  const sim = await spawnSimulator({ model: MODEL });
  const bare = await spawnNode({
    name: "bare proxy",
    script: fileURLToPath(new URL("./bareProxy.ts", import.meta.url)),
    args: [sim.url],
    ready: (line) => parseLogLine(line)?.["url"] as string | undefined,
  });
  const configPath = join(dir, "gateway.json");
  writeFileSync(
    configPath,
    JSON.stringify(buildGatewayConfig({ models: [{ preset: MODEL, replicaUrls: [sim.url] }] })),
  );
  mkdirSync("reports", { recursive: true });
  const gateway = await spawnGateway({
    configPath,
    ...(values["cpu-prof"] ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir=reports"] } : {}),
    onLogLine: () => {},
  });
  const targets: Array<{ name: string; url: string; proc: ManagedChild | null }> = [
    { name: "direct", url: sim.url, proc: null },
    { name: "bare proxy", url: bare.readyValue, proc: bare },
    { name: "gateway", url: gateway.url, proc: gateway },
  ];
  try {
    console.log(`warming up (${MODEL} simulator, zero latency)…`);
    for (const t of targets) await saturate({ url: t.url, path: PATH, body: plain, durationMs: 500 }, 16);

    const measure = async (body: string, mode: "saturate" | "rate", rate: number) => {
      const rows: Row[] = [];
      let base: LoadResult | undefined;
      for (const t of targets) {
        const cpu0 = t.proc ? processCpuMicros(t.proc.pid) : 0;
        const spec = { url: t.url, path: PATH, body, durationMs };
        const r = mode === "saturate" ? await saturate(spec, rate) : await fixedRate(spec, rate);
        const cpu = t.proc ? processCpuMicros(t.proc.pid) - cpu0 : null;
        base ??= r;
        const p50 = percentile(r.latenciesMs, 50);
        const p99 = percentile(r.latenciesMs, 99);
        if (r.errors) console.warn(`  ${t.name}: ${r.errors} errors`);
        rows.push({
          path: t.name,
          rps: r.requests / r.seconds,
          cpuUsPerReq: cpu === null ? null : cpu / Math.max(1, r.requests),
          cpuUsPerChunk: cpu === null || r.frames === 0 ? null : cpu / r.frames,
          p50,
          p99,
          addedP50: t.name === "direct" ? null : p50 - percentile(base.latenciesMs, 50),
          addedP99: t.name === "direct" ? null : p99 - percentile(base.latenciesMs, 99),
        });
      }
      return rows;
    };

    console.log(`measuring, ${durationMs / 1000} s per row…`);
    const sat = await measure(plain, "saturate", 32);
    const at500 = await measure(plain, "rate", 500);
    const streamSat = await measure(streamed, "saturate", 16);
    const streamRate = await measure(streamed, "rate", 100);

    const f = (v: number | null | undefined, d = 0) => (v === null || v === undefined ? "—" : v.toFixed(d));
    console.log("\nNon-streaming chat (16 tokens)");
    console.log(
      "| path | req/s at saturation | CPU µs/req | p50 ms @500/s | p99 ms @500/s | added p50 ms | added p99 ms |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    sat.forEach((s, i) => {
      const r = at500[i]!;
      console.log(
        `| ${s.path} | ${f(s.rps)} | ${f(s.cpuUsPerReq)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${f(r.addedP50, 2)} | ${f(r.addedP99, 2)} |`,
      );
    });
    console.log("\nStreaming chat (64 tokens, ~67 SSE frames)");
    console.log(
      "| path | streams/s at saturation | CPU µs/chunk | p50 ms @100/s | added p50 ms | added p99 ms |",
    );
    console.log("|---|---:|---:|---:|---:|---:|");
    streamSat.forEach((s, i) => {
      const r = streamRate[i]!;
      console.log(
        `| ${s.path} | ${f(s.rps)} | ${f(s.cpuUsPerChunk, 1)} | ${f(r.p50, 2)} | ${f(r.addedP50, 2)} | ${f(r.addedP99, 2)} |`,
      );
    });

    const ratio = (a: number | null | undefined, b: number | null | undefined) =>
      a && b ? a / b : Number.NaN;
    const cpuRatio = ratio(sat[2]!.cpuUsPerReq, sat[1]!.cpuUsPerReq);
    const chunkRatio = ratio(streamSat[2]!.cpuUsPerChunk, streamSat[1]!.cpuUsPerChunk);
    const p50Delta = (at500[2]!.addedP50 ?? 0) - (at500[1]!.addedP50 ?? 0);
    const streamP50Delta = (streamRate[2]!.addedP50 ?? 0) - (streamRate[1]!.addedP50 ?? 0);
    console.log("\nTargets (gateway vs bare proxy, same run)");
    console.log(
      `  CPU per request   ${cpuRatio.toFixed(2)}× (target ≤ 1.5×)  ${cpuRatio <= 1.5 ? "met" : "NOT met"}`,
    );
    console.log(
      `  CPU per chunk     ${chunkRatio.toFixed(2)}× (target ≤ 1.5×)  ${chunkRatio <= 1.5 ? "met" : "NOT met"}`,
    );
    console.log(
      `  added p50 @500/s  +${p50Delta.toFixed(2)} ms over bare (target ≤ 1 ms)  ${p50Delta <= 1 ? "met" : "NOT met"}`,
    );
    console.log(
      `  stream p50 @100/s +${streamP50Delta.toFixed(2)} ms over bare (target ≤ 1 ms)  ${streamP50Delta <= 1 ? "met" : "NOT met"}`,
    );
  } finally {
    await Promise.all([gateway.stop(), bare.stop(), sim.stop()]);
  }
}

await main();
