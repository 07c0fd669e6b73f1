/**
 * `npm run load -- streams2k`: one gateway process (the real one: keys, limits, metering on
 * SQLite) holding 2,000 concurrent SSE streams from a simulator with slow tokens, with no
 * errors. Reports the gateway's memory per stream and CPU per forwarded frame, read from /proc.
 *
 *   --streams N    concurrent streams (default 2000)
 *   --hold S       how long each stream lasts, seconds (default 12)
 *   --tpot-ms N    the simulator's time per token (default 200): 5 frames/s per stream
 *   --ramp S       the streams are opened over this many seconds (default 2)
 *
 * The gateway holds two sockets per stream (client and engine): the runner checks the open-file
 * limit first and says how to raise it when it is too low (fdLimit.ts).
 * Exit 0 when every stream ended with [DONE] and all were open at once, 1 otherwise, 2 on a
 * usage or setup error.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { rssBytes } from "../../bench/proc.ts";
import { processCpuMicros } from "../../gateway/bench/loadgen.ts";
import { buildGatewayConfig } from "../../gateway/config/fromCatalog.ts";
import { spawnGateway } from "../../harness/spawnGateway.ts";
import { spawnSimulator } from "../../sim/spawn.ts";
import { assertOpenFiles } from "./fdLimit.ts";
import { holdStreams } from "./holdStreams.ts";

const MODEL = "llama-4-maverick";
const ADMIN_KEY = "streams-admin-key-0123456789abcdef";

export const STREAMS_USAGE =
  "Usage: npm run load -- streams2k [--streams N] [--hold SECONDS] [--tpot-ms N] [--ramp SECONDS]";

interface Settings {
  streams: number;
  holdSeconds: number;
  tpotMs: number;
  rampSeconds: number;
}

function settingsFrom(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      streams: { type: "string", default: "2000" },
      hold: { type: "string", default: "12" },
      "tpot-ms": { type: "string", default: "200" },
      ramp: { type: "string", default: "2" },
    },
  });
  const s = {
    streams: Number(values.streams),
    holdSeconds: Number(values.hold),
    tpotMs: Number(values["tpot-ms"]),
    rampSeconds: Number(values.ramp),
  };
  if (!Number.isInteger(s.streams) || s.streams < 1) throw new Error("--streams must be a positive integer");
  if (!(s.tpotMs > 0) || !(s.rampSeconds >= 0))
    throw new Error("--tpot-ms must be positive and --ramp not negative");
  // Every stream must still be open when the last one starts, or "held at once" cannot hold.
  if (!(s.holdSeconds > s.rampSeconds + 1))
    throw new Error("--hold must exceed --ramp by more than a second");
  return s;
}

/** A reply longer than any stream here: max_tokens, not the text, decides when it ends. */
function longReplyScript(dir: string): string {
  const file = join(dir, "long-reply.json");
  const words = Array.from({ length: 4_000 }, (_, i) => `word${i % 97}`).join(" ");
  writeFileSync(file, JSON.stringify({ rules: [{ name: "long", reply: { content: words } }] }));
  return file;
}

export async function streams2k(argv: string[]): Promise<number> {
  let s: Settings;
  try {
    s = settingsFrom(argv);
  } catch (err) {
    console.error(`streams2k: ${(err as Error).message}\n${STREAMS_USAGE}`);
    return 2;
  }
  const log = (l: string) => console.error(`streams2k: ${l}`);
  // The gateway holds a client and an upstream socket per stream, the simulator and this
  // runner one each; the rest is headroom for files, pipes and the store.
  const limits = assertOpenFiles(2 * s.streams + 1_024);
  log(`open-file limit ${limits.soft} (hard ${limits.hard}): enough`);

  const dir = mkdtempSync(join(tmpdir(), "gonka-streams-"));
  const stops: Array<() => Promise<void>> = [];
  const gatewayWarnings: string[] = [];
  try {
    const maxTokens = Math.max(2, Math.round((s.holdSeconds * 1_000) / s.tpotMs));
    const sim = await spawnSimulator({
      model: MODEL,
      args: [
        "--tpot-ms",
        String(s.tpotMs),
        "--max-concurrency",
        String(s.streams * 2),
        "--script",
        longReplyScript(dir),
      ],
    });
    stops.push(sim.stop);
    const configPath = join(dir, "gateway.json");
    const tiers = {
      streams: {
        requestsPerMinute: 10_000_000,
        tokensPerMinute: 1_000_000_000,
        concurrentRequests: s.streams * 2,
      },
    };
    const config = buildGatewayConfig({ models: [{ preset: MODEL, replicaUrls: [sim.url] }], tiers });
    // One health probe a minute instead of every 5 s: this run is about holding streams, and on a
    // starved shared machine the simulator busy with them can miss the probe's 2 s timeout, which
    // takes the only replica out of rotation (new streams get 503) — seen at load average 20.
    writeFileSync(configPath, JSON.stringify({ ...config, healthIntervalMs: 60_000 }));
    const gw = await spawnGateway({
      configPath,
      env: { GONKA_DATA_DIR: join(dir, "data"), GONKA_ADMIN_KEY: ADMIN_KEY, GONKA_LOG_LEVEL: "warn" },
      // Warnings and errors the gateway logs explain failed streams; the first few are printed.
      onLogLine: (line) => {
        if (gatewayWarnings.length < 5) gatewayWarnings.push(line.slice(0, 400));
      },
    });
    stops.push(() => gw.stop());
    const created = await fetch(`${gw.opsUrl}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "streams2k", tier: "streams" }),
    });
    const apiKey = ((await created.json()) as { secret: string }).secret;

    // Warm the gateway (JIT, first connections) so its baseline memory is a running process's.
    const warm = holdStreams({ url: gw.url, apiKey, model: MODEL, streams: 20, maxTokens: 2, rampMs: 0 });
    await warm.done;
    if (warm.progress.errors) throw new Error(`warm-up failed: ${warm.progress.errorSamples.join("; ")}`);
    const rssBefore = rssBytes([gw.pid]);

    log(
      `${s.streams} streams, opened over ${s.rampSeconds} s, each ${maxTokens} tokens ${s.tpotMs} ms apart (~${s.holdSeconds} s)`,
    );
    const cpu0 = processCpuMicros(gw.pid);
    const t0 = performance.now();
    const run = holdStreams({
      url: gw.url,
      apiKey,
      model: MODEL,
      streams: s.streams,
      maxTokens,
      rampMs: s.rampSeconds * 1_000,
    });
    let rssPeak = rssBefore;
    const tty = process.stderr.isTTY;
    const timer = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssBytes([gw.pid]));
      const p = run.progress;
      const line =
        `${((performance.now() - t0) / 1_000).toFixed(0)} s  open ${p.open} (max ${p.maxOpen})  ` +
        `done ${p.finished}/${s.streams}  frames ${p.frames}  errors ${p.errors}  gateway RSS ${(rssPeak / 2 ** 20).toFixed(0)} MB`;
      process.stderr.write(tty ? `\r${line}` : `streams2k: ${line}\n`);
    }, 1_000);
    await run.done;
    clearInterval(timer);
    if (tty) process.stderr.write("\n");
    const cpuUs = processCpuMicros(gw.pid) - cpu0;
    const seconds = (performance.now() - t0) / 1_000;
    const p = run.progress;

    const table = new Table({
      head: ["measure", "value"],
      ...(process.stdout.isTTY ? {} : { style: { head: [], border: [] } }),
    });
    table.push(
      ["streams", String(s.streams)],
      ["open at once (max)", String(p.maxOpen)],
      ["errors", String(p.errors)],
      ["frames forwarded", String(p.frames)],
      ["gateway RSS before", `${(rssBefore / 2 ** 20).toFixed(0)} MB`],
      ["gateway RSS peak", `${(rssPeak / 2 ** 20).toFixed(0)} MB`],
      ["RSS per stream", `${((rssPeak - rssBefore) / s.streams / 1024).toFixed(1)} KiB`],
      ["gateway CPU per frame", `${(cpuUs / Math.max(1, p.frames)).toFixed(1)} µs`],
      ["gateway CPU per stream", `${(cpuUs / s.streams / 1_000).toFixed(2)} ms`],
      ["duration", `${seconds.toFixed(1)} s`],
    );
    console.log(table.toString());
    for (const e of p.errorSamples) console.log(`error: ${e}`);
    for (const w of gatewayWarnings) console.log(`gateway: ${w}`);
    const ok = p.errors === 0 && p.maxOpen === s.streams;
    console.log(
      ok
        ? `streams2k: one gateway process held ${s.streams} concurrent streams with no errors`
        : `streams2k: FAILED (${p.errors} errors, ${p.maxOpen} of ${s.streams} open at once)`,
    );
    return ok ? 0 : 1;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
