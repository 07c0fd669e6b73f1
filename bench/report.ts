/**
 * The bench's table as Markdown: one table for non-streamed requests, one for streams, with
 * ratios to the bare proxy (the floor any Node gateway pays) and latency added over going
 * to the simulator directly, plus the machine and its load average (the numbers mean little
 * without them).
 */
import { cpus, freemem, loadavg, totalmem } from "node:os";
import type { BenchSettings, ModeRow, Row } from "./measure.ts";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  loadBefore: number[];
  loadAfter: number[];
  date: string;
}

export function describeMachine(loadBefore: number[]): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadBefore,
    loadAfter: loadavg(),
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

const n = (v: number, d = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d })
    : "—";
const ratio = (v: number | null, base: number | null | undefined) =>
  v === null ? "—" : base ? `${n(v)} (${(v / base).toFixed(1)}×)` : n(v);
const mb = (bytes: number) => (bytes ? n(bytes / 2 ** 20) : "—");

function added(m: ModeRow, direct: ModeRow | undefined, rate: number): string {
  if (!m.sustained || m.p50 === null || m.p99 === null) return `cannot sustain ${rate}/s`;
  if (!direct || direct.p50 === null || direct.p99 === null) return "—";
  const behind = m.fellBehind ? " (fell behind)" : "";
  return `${(m.p50 - direct.p50).toFixed(2)} / ${(m.p99 - direct.p99).toFixed(1)}${behind}`;
}

export function benchMarkdown(
  rows: readonly Row[],
  s: BenchSettings,
  machine: Machine,
  skipped: ReadonlyArray<{ id: string; reason: string }>,
): string {
  const direct = rows.find((r) => r.target.id === "direct");
  const bare = rows.find((r) => r.target.id === "bare");
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(", ");
  const frames = direct?.streamed.framesPerRequest ?? rows[0]?.streamed.framesPerRequest ?? 0;
  const out: string[] = [
    `# npm run bench — ${machine.date}`,
    "",
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
      `load average (1, 5, 15 min) ${load(machine.loadBefore)} before, ${load(machine.loadAfter)} after.`,
    `Run: ${s.rounds} interleaved rounds × ${s.seconds} s per cell, medians; saturated = ${s.connections} connections; ` +
      `fixed rate = ${s.rate}/s. CPU is the proxying process's own (from /proc), not the simulator's, Redis's or Postgres's.`,
    "",
    "## Non-streamed chat (16 tokens, zero-latency simulator)",
    "",
    `| system | CPU µs/req saturated (× bare) | req/s @${s.connections} conns | added p50 / p99 ms @${s.rate}/s | RSS MB |`,
    "|---|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.target.name} | ${ratio(r.plain.cpuUs, bare?.plain.cpuUs)} | ${n(r.plain.rps)} | ${
          r.target.id === "direct" ? "(baseline)" : added(r.plain, direct?.plain, s.rate)
        } | ${mb(r.plain.rssBytes)} |`,
    ),
    "",
    `## Streamed chat (up to 64 tokens, 1 ms apart: ${n(frames)} SSE events per stream)`,
    "",
    `| system | CPU µs/stream saturated (× bare) | streams/s @${s.connections} conns | added p50 / p99 ms @${s.rate}/s | TTFB p99 ms @${s.rate}/s | CPU µs per frame (× bare) | RSS MB |`,
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) => {
      const perFrame = (m: ModeRow | undefined) =>
        m?.cpuUs == null || !m.framesPerRequest ? null : m.cpuUs / m.framesPerRequest;
      const pf = perFrame(r.streamed);
      const bpf = perFrame(bare?.streamed);
      return `| ${r.target.name} | ${ratio(r.streamed.cpuUs, bare?.streamed.cpuUs)} | ${n(r.streamed.rps)} | ${
        r.target.id === "direct" ? "(baseline)" : added(r.streamed, direct?.streamed, s.rate)
      } | ${r.streamed.ttfbP99 === null ? "—" : n(r.streamed.ttfbP99, 1)} | ${
        pf === null ? "—" : `${n(pf, 1)}${bpf ? ` (${(pf / bpf).toFixed(2)}×)` : ""}`
      } | ${mb(r.streamed.rssBytes)} |`;
    }),
  ];
  const errors = rows.filter((r) => r.plain.errors + r.streamed.errors > 0);
  if (errors.length) {
    out.push(
      "",
      `Errors: ${errors.map((r) => `${r.target.name} ${r.plain.errors + r.streamed.errors}`).join(", ")}.`,
    );
  }
  if (skipped.length) {
    out.push("", "Skipped:", ...skipped.map((x) => `- ${x.id}: ${x.reason}`));
  }
  out.push("", `Free memory at the end: ${n(freemem() / 2 ** 30, 1)} GiB.`, "");
  return out.join("\n");
}
