/**
 * Gateway benchmark (`npm run bench:gateway`). The same simulator is reached five
 * ways in one run — directly, through a bare Node proxy (the floor any Node gateway
 * pays), through the gateway's core path, and through the gateway with keys, Redis
 * rate limits and metering on, over SQLite and over Postgres — so the ratios mean
 * something on any machine. The Postgres row's CPU is the gateway process's only (the
 * database server's own work is not counted, as a managed database's would not be).
 *
 *   --seconds N    duration of each measurement (default 3)
 *   --rounds N     measurements per cell, interleaved; the median is kept (default 3). Saturated
 *                  cells drive each target rounds × seconds in all, in half-second turns (see
 *                  saturateInSlices)
 *   --cpu-prof     write V8 CPU profiles of both gateway processes to ./reports/
 *   --import-interval-ms N   the all-features gateways' `metering.importIntervalMs` (default: the config's)
 *
 * Every proxying process also reports its event-loop delay per cell (loopProbe.ts): the
 * p99 printed is the median over rounds, the max the largest of any round.
 *
 * Non-streaming requests go to a zero-latency simulator. Streams go to one that
 * spaces tokens 1 ms apart, so each SSE event arrives in its own read, as from a GPU.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { type ManagedChild, parseLogLine, spawnNode } from "../../harness/childProcess.ts";
import { startPostgresServer } from "../../harness/postgresServer.ts";
import { startRedisServer } from "../../harness/redisServer.ts";
import { spawnGateway } from "../../harness/spawnGateway.ts";
import { type SignalStop, stopOnSignal, untilExit } from "../../harness/stopOnSignal.ts";
import { spawnSimulator } from "../../sim/spawn.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import {
  fixedRate,
  type LoadResult,
  type LoadSpec,
  percentile,
  processCpuMicros,
  saturate,
} from "./loadgen.ts";
import { type LoopDelay, loopProbe } from "./loopProbeClient.ts";
import { FAST, PACED, PATH, plainBody, streamedBody } from "./workload.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    "cpu-prof": { type: "boolean" },
    "import-interval-ms": { type: "string" },
  },
});
const durationMs = Number(values.seconds) * 1000;
const rounds = Math.max(1, Number(values.rounds));
/** How long each target is driven at a time in saturated cells (see saturateInSlices). */
const SLICE_MS = 500;
/** Warm-up per target, at the saturated cells' 32 connections: 4 s, or the measured time if shorter. */
const WARM_UP_MS = Math.min(4_000, rounds * durationMs);
const emptyResult = (): LoadResult => ({ requests: 0, errors: 0, seconds: 0, latenciesMs: [], frames: 0 });

interface Target {
  name: string;
  url: string;
  proc: ManagedChild | null;
  headers?: Record<string, string>;
}

/** The node flags and environment that load loopProbe.ts into a benchmarked process. */
const probed = (dir: string, name: string) => {
  const file = join(dir, `${name}.loop.json`);
  return {
    file,
    nodeArgs: ["--import", script("./loopProbe.ts")],
    env: { ...process.env, GONKA_LOOP_PROBE_FILE: file },
  };
};

interface Row {
  path: string;
  rps: number;
  cpuUs: number | null;
  frames: number;
  /** Median over rounds of each round's percentile (see measure()). */
  p50: number;
  p99: number;
  /** The worst round's p99. */
  worstP99: number;
  addedP50: number | null;
  addedP99: number | null;
  /** The proxying process's event-loop delay during the cell (median p99, worst max). */
  loop: LoopDelay | null;
}

const script = (name: string) => fileURLToPath(new URL(name, import.meta.url));
/** What the load generator sends to a target, for how long. */
const load = (t: Target, body: string, durationMs: number): LoadSpec => ({
  url: t.url,
  path: PATH,
  body,
  durationMs,
  ...(t.headers ? { headers: t.headers } : {}),
});
const urlFromLog = (line: string) => parseLogLine(line)?.["url"] as string | undefined;

let signals: SignalStop | undefined;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "gonka-bench-"));
  const children: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const c of children) await c.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  signals = stopOnSignal(stopAll, (line) => console.error(line));
  try {
    const fastSim = await spawnSimulator({ model: FAST });
    const pacedSim = await spawnSimulator({ model: PACED, args: ["--tpot-ms", "1"] });
    children.push(fastSim, pacedSim);
    const probes = new Map<ManagedChild, ReturnType<typeof loopProbe>>();
    const bare = async (upstream: string, name: string) => {
      const p = probed(dir, name);
      const child = await spawnNode({
        name: "bare proxy",
        script: script("./bareProxy.ts"),
        args: [upstream],
        nodeArgs: p.nodeArgs,
        env: p.env,
        ready: urlFromLog,
      });
      children.push(child);
      probes.set(child, loopProbe(child.pid, p.file));
      return child;
    };
    const bareFast = await bare(fastSim.url, "bare-fast");
    const barePaced = await bare(pacedSim.url, "bare-paced");

    const configPath = join(dir, "gateway.json");
    const tiers = {
      bench: { requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000, concurrentRequests: 10_000 },
    };
    const config = buildGatewayConfig({
      models: [
        { preset: FAST, replicaUrls: [fastSim.url] },
        { preset: PACED, replicaUrls: [pacedSim.url] },
      ],
      tiers,
    });
    const importInterval = values["import-interval-ms"];
    writeFileSync(
      configPath,
      JSON.stringify(
        importInterval
          ? { ...config, metering: { ...config.metering, importIntervalMs: Number(importInterval) } }
          : config,
      ),
    );
    mkdirSync("reports", { recursive: true });
    const profile = values["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir=reports"] : [];
    const coreProbe = probed(dir, "core");
    const core = await spawnNode({
      name: "core gateway",
      script: script("./coreGateway.ts"),
      args: ["--config", configPath],
      nodeArgs: [...profile, ...coreProbe.nodeArgs],
      env: coreProbe.env,
      ready: urlFromLog,
      onLine: () => {},
    });
    children.push(core);
    probes.set(core, loopProbe(core.pid, coreProbe.file));
    const redis = await startRedisServer();
    children.push(redis);
    const adminKey = "bench-admin-key-0123456789abcdef";
    const fullProbe = probed(dir, "full");
    const full = await spawnGateway({
      configPath,
      env: {
        GONKA_DATA_DIR: join(dir, "data"),
        GONKA_ADMIN_KEY: adminKey,
        REDIS_URL: redis.url,
        GONKA_LOOP_PROBE_FILE: fullProbe.file,
      },
      nodeArgs: [...profile, ...fullProbe.nodeArgs],
      onLogLine: () => {},
    });
    children.unshift(full);
    probes.set(full, loopProbe(full.pid, fullProbe.file));
    const postgres = await startPostgresServer();
    children.push(postgres);
    const pgProbe = probed(dir, "postgres");
    const onPostgres = await spawnGateway({
      configPath,
      env: {
        GONKA_LOOP_PROBE_FILE: pgProbe.file,
        GONKA_DATA_DIR: join(dir, "data-pg"),
        GONKA_DATABASE_URL: await postgres.createDatabase("bench"),
        GONKA_ADMIN_KEY: adminKey,
        REDIS_URL: redis.url,
      },
      nodeArgs: [...profile, ...pgProbe.nodeArgs],
      onLogLine: () => {},
    });
    children.unshift(onPostgres);
    probes.set(onPostgres, loopProbe(onPostgres.pid, pgProbe.file));
    const issue = async (opsUrl: string) => {
      const created = await fetch(`${opsUrl}/admin/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "bench", tier: "bench" }),
      });
      return ((await created.json()) as { secret: string }).secret;
    };
    const secret = await issue(full.opsUrl);
    const pgSecret = await issue(onPostgres.opsUrl);
    const gateways = (directUrl: string, bareProxy: ManagedChild & { readyValue: string }): Target[] => [
      { name: "direct", url: directUrl, proc: null },
      { name: "bare proxy", url: bareProxy.readyValue, proc: bareProxy },
      { name: "gateway core", url: core.readyValue, proc: core },
      {
        name: "gateway, all features",
        url: full.url,
        proc: full,
        headers: { authorization: `Bearer ${secret}` },
      },
      {
        name: "gateway, all features, Postgres",
        url: onPostgres.url,
        proc: onPostgres,
        headers: { authorization: `Bearer ${pgSecret}` },
      },
    ];
    const fastTargets = gateways(fastSim.url, bareFast);
    const pacedTargets = gateways(pacedSim.url, barePaced);

    console.log("warming up…");
    for (const t of [...fastTargets, ...pacedTargets]) {
      const body = fastTargets.includes(t) ? plainBody : streamedBody;
      await saturate(
        // Long enough for V8 to finish optimising the request path, at the saturated cells'
        // connections: a gateway's first seconds cost up to twice the CPU of its steady state
        // (what is measured), and with 1.5 s at 8 connections the core's first turns still did.
        load(t, body, WARM_UP_MS),
        32,
      );
    }

    // Each fixed-rate cell is measured `rounds` times, targets interleaved, and the median round
    // kept: a shared VM's noise moves single runs by ±30%, interleaving spreads it evenly. Latency
    // percentiles too are per round, then the median: this VM stalls whole processes for
    // 20–100 ms at random (two identical gateways in one run measured p99s of 1.6 and 11.5 ms),
    // and one such stall in one round would otherwise set the p99 of every round pooled. A
    // stall the gateway causes itself recurs in every round and still shows; the worst round
    // is printed beside it.
    const measure = async (targets: Target[], body: string, mode: "saturate" | "rate", n: number) => {
      const runs = new Map<Target, Array<{ r: LoadResult; cpu: number | null; loop: LoopDelay | null }>>();
      if (mode === "saturate") {
        await saturateInSlices(targets, body, n, runs);
        return summarise(targets, runs);
      }
      for (let round = 0; round < rounds; round++) {
        for (const t of targets) {
          const probe = t.proc ? probes.get(t.proc) : undefined;
          await probe?.take();
          const cpu0 = t.proc ? processCpuMicros(t.proc.pid) : 0;
          const r = await fixedRate(load(t, body, durationMs), n);
          const cpu = t.proc ? processCpuMicros(t.proc.pid) - cpu0 : null;
          const loop = probe ? await probe.take() : null;
          if (r.errors) console.warn(`  ${t.name}: ${r.errors} errors`);
          runs.set(t, [...(runs.get(t) ?? []), { r, cpu, loop }]);
        }
      }
      return summarise(targets, runs);
    };

    // CPU per request at saturation is the ratio the targets are judged by, and this VM's
    // speed drifts by ±30% over seconds (the bare proxy alone measured 104–202 µs per request
    // in rounds of one run). Rounds of whole seconds, one target after another, let that drift
    // land on one target more than another. Saturated cells therefore alternate the targets
    // every half second, as often as it takes to give each the same total time as the rounds
    // would, and divide each target's summed CPU by its summed requests.
    const saturateInSlices = async (
      targets: Target[],
      body: string,
      connections: number,
      runs: Map<Target, Array<{ r: LoadResult; cpu: number | null; loop: LoopDelay | null }>>,
    ) => {
      const slices = Math.max(1, Math.round((rounds * durationMs) / SLICE_MS));
      const total = new Map(targets.map((t) => [t, { r: emptyResult(), cpu: t.proc ? 0 : null }]));
      // One pool per target for all its turns: new connections every turn would add their
      // set-up to the requests' cost (a whole round of turns stays within the simulator's
      // 5 s keep-alive, and the gateways keep theirs for 65 s).
      const pools = new Map(targets.map((t) => [t, new Pool(t.url, { connections, pipelining: 1 })]));
      for (let slice = 0; slice < slices; slice++) {
        for (const t of targets) {
          const cpu0 = t.proc ? processCpuMicros(t.proc.pid) : 0;
          const r = await saturate(load(t, body, SLICE_MS), connections, pools.get(t));
          const sum = total.get(t)!;
          if (sum.cpu !== null) sum.cpu += processCpuMicros(t.proc!.pid) - cpu0;
          if (r.errors) console.warn(`  ${t.name}: ${r.errors} errors`);
          sum.r.requests += r.requests;
          sum.r.errors += r.errors;
          sum.r.seconds += r.seconds;
          sum.r.frames += r.frames;
          for (const ms of r.latenciesMs) sum.r.latenciesMs.push(ms);
        }
      }
      await Promise.all([...pools.values()].map((p) => p.close()));
      for (const t of targets) runs.set(t, [{ ...total.get(t)!, loop: null }]);
    };

    const summarise = (
      targets: Target[],
      runs: Map<Target, Array<{ r: LoadResult; cpu: number | null; loop: LoopDelay | null }>>,
    ) => {
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const summary = targets.map((t) => {
        const all = runs.get(t)!;
        const requests = all.reduce((a, x) => a + x.r.requests, 0);
        return {
          t,
          rps: median(all.map((x) => x.r.requests / x.r.seconds)),
          cpuUs: t.proc ? median(all.map((x) => (x.cpu ?? 0) / Math.max(1, x.r.requests))) : null,
          frames: requests ? all.reduce((a, x) => a + x.r.frames, 0) / requests : 0,
          p50: median(all.map((x) => percentile(x.r.latenciesMs, 50))),
          p99: median(all.map((x) => percentile(x.r.latenciesMs, 99))),
          worstP99: Math.max(...all.map((x) => percentile(x.r.latenciesMs, 99))),
          loop: all[0]!.loop
            ? {
                p50Ms: median(all.map((x) => x.loop!.p50Ms)),
                p99Ms: median(all.map((x) => x.loop!.p99Ms)),
                maxMs: Math.max(...all.map((x) => x.loop!.maxMs)),
              }
            : null,
        };
      });
      const base = summary[0]!;
      return summary.map(
        (s): Row => ({
          path: s.t.name,
          rps: s.rps,
          cpuUs: s.cpuUs,
          frames: s.frames,
          p50: s.p50,
          p99: s.p99,
          worstP99: s.worstP99,
          addedP50: s.t.proc ? s.p50 - base.p50 : null,
          addedP99: s.t.proc ? s.p99 - base.p99 : null,
          loop: s.loop,
        }),
      );
    };

    console.log(`measuring, ${rounds} × ${durationMs / 1000} s per cell…`);
    const sat = await measure(fastTargets, plainBody, "saturate", 32);
    const at500 = await measure(fastTargets, plainBody, "rate", 500);
    const streamSat = await measure(pacedTargets, streamedBody, "saturate", 32);
    const streamRate = await measure(pacedTargets, streamedBody, "rate", 100);
    report(sat, at500, streamSat, streamRate);
  } finally {
    await stopAll();
    signals.release();
  }
}

function report(sat: Row[], at500: Row[], streamSat: Row[], streamRate: Row[]) {
  const f = (v: number | null | undefined, d = 0) => (v === null || v === undefined ? "—" : v.toFixed(d));
  const loop = (l: LoopDelay | null) => (l ? `${f(l.p99Ms, 2)} / ${f(l.maxMs, 1)}` : "—");
  console.log("\nNon-streaming chat, 16 tokens, zero-latency backend");
  console.log(
    "| path | req/s at saturation (32 conns) | CPU µs/req saturated | CPU µs/req @500/s | p50 ms @500/s | p99 ms @500/s | worst round's p99 ms | added p50 ms | added p99 ms | loop delay p99 / max ms @500/s |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  sat.forEach((s, i) => {
    const r = at500[i]!;
    console.log(
      `| ${s.path} | ${f(s.rps)} | ${f(s.cpuUs)} | ${f(r.cpuUs)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${f(r.worstP99, 2)} | ${f(r.addedP50, 2)} | ${f(r.addedP99, 2)} | ${loop(r.loop)} |`,
    );
  });
  const frames = streamSat[0]!.frames;
  console.log(`\nStreaming chat, 64 tokens 1 ms apart (${frames.toFixed(0)} SSE events per stream)`);
  console.log(
    "| path | streams/s (32 conns) | CPU µs/stream | CPU µs/chunk | p50 ms @100/s | added p50 ms | added p99 ms | loop delay p99 / max ms @100/s |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  streamSat.forEach((s, i) => {
    const r = streamRate[i]!;
    const perChunk = s.cpuUs === null ? null : s.cpuUs / frames;
    console.log(
      `| ${s.path} | ${f(s.rps)} | ${f(s.cpuUs)} | ${f(perChunk, 1)} | ${f(r.p50, 2)} | ${f(r.addedP50, 2)} | ${f(r.addedP99, 2)} | ${loop(r.loop)} |`,
    );
  });
  const check = (label: string, value: number, target: number, unit: string) =>
    console.log(
      `  ${label.padEnd(54)} ${value.toFixed(2)}${unit} (target ≤ ${target}${unit})  ${value <= target ? "met" : "NOT met"}`,
    );
  console.log("\nTargets, against the bare proxy in this run");
  // Saturated, a bare proxy amortises syscalls over many requests per loop turn while the
  // gateway's per-request JavaScript does not shrink; at a steady rate both pay full price.
  check("core: CPU per request, saturated", sat[2]!.cpuUs! / sat[1]!.cpuUs!, 1.5, "×");
  check("core: CPU per request @500/s", at500[2]!.cpuUs! / at500[1]!.cpuUs!, 1.5, "×");
  check("all features: CPU per request, saturated", sat[3]!.cpuUs! / sat[1]!.cpuUs!, 2.5, "×");
  check("all features: CPU per request @500/s", at500[3]!.cpuUs! / at500[1]!.cpuUs!, 2.5, "×");
  check("all features on Postgres: CPU per request, saturated", sat[4]!.cpuUs! / sat[1]!.cpuUs!, 2.5, "×");
  check("all features on Postgres: CPU per request @500/s", at500[4]!.cpuUs! / at500[1]!.cpuUs!, 2.5, "×");
  check("all features: added p99 @500/s over core's", at500[3]!.p99 - at500[2]!.p99, 2, " ms");
  check("all features on Postgres: added p99 @500/s over core's", at500[4]!.p99 - at500[2]!.p99, 2, " ms");
  for (const i of [2, 3, 4])
    check(`${at500[i]!.path}: event-loop delay p99 @500/s`, at500[i]!.loop!.p99Ms, 5, " ms");
  check("core: CPU per stream chunk", streamSat[2]!.cpuUs! / streamSat[1]!.cpuUs!, 1.5, "×");
  check("core: added p50 @500/s over bare", (at500[2]!.addedP50 ?? 0) - (at500[1]!.addedP50 ?? 0), 1, " ms");
  check(
    "all features: added p50 @500/s over bare",
    (at500[3]!.addedP50 ?? 0) - (at500[1]!.addedP50 ?? 0),
    1,
    " ms",
  );
  check(
    "all features on Postgres: added p50 @500/s",
    (at500[4]!.addedP50 ?? 0) - (at500[1]!.addedP50 ?? 0),
    1,
    " ms",
  );
  check(
    "core: stream added p50 @100/s over bare",
    (streamRate[2]!.addedP50 ?? 0) - (streamRate[1]!.addedP50 ?? 0),
    1,
    " ms",
  );
}

await main().catch((err: unknown) => {
  // Interrupted: measurements fail as the servers go; the signal's handler exits when done.
  if (signals?.interrupted()) return untilExit();
  throw err;
});
