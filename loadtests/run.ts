/**
 * `npm run load -- <scenario> [--target local|<stack>|--base-url URL --api-key K] [--model M]
 *   [--duration S] [--vus N]`: runs a scenario of loadtests/scenarios/ against a target, with a
 * progress line while it runs and a summary table at the end. Exit 0 when every threshold
 * holds, 1 when one fails, 2 on a usage or setup error.
 *
 * With an admin key (the local stack has one) the run gets its own fresh key on the
 * scenario's tier, revoked afterwards, so thresholds on 429s mean the same on every run.
 */
import Table from "cli-table3";
import { type AdminCall, adminClient } from "../harness/adminClient.ts";
import { resolveEndpoints, type Target, targetOptionsFromArgs } from "../harness/targets.ts";
import { type LoadRun, startLoad } from "./engine.ts";
import { loadScenario, type Scenario, scenarioNames } from "./scenario.ts";
import { STREAMS_USAGE, streams2k } from "./streams/streams2k.ts";
import { type Check, checkThresholds, type Stats, summarise } from "./thresholds.ts";

const USAGE = `Usage: npm run load -- <scenario> [--target local|<stack>] [--base-url URL --api-key K]
       [--admin-key A --admin-url U] [--model M] [--duration S] [--vus N]
Scenarios: ${scenarioNames().join(", ")} (or a path to a scenario .json)
${STREAMS_USAGE}: 2,000 concurrent streams held by one local gateway process`;

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** A key for the run: a fresh one on the scenario's tier when we can make one, else the given key. */
async function keyFor(
  target: Target,
  scenario: Scenario,
): Promise<{ apiKey: string; tier: string; revoke: () => Promise<void> }> {
  if (target.adminKey && target.adminUrl) {
    const admin: AdminCall = adminClient(target.adminUrl, target.adminKey);
    const tiers = (await admin("GET", "/admin/tiers"))["data"] as {
      name: string;
      requests_per_minute: number;
    }[];
    const tier =
      scenario.tier ?? [...tiers].sort((a, b) => b.requests_per_minute - a.requests_per_minute)[0]?.name;
    if (!tier || !tiers.some((t) => t.name === tier)) {
      throw new Error(`the target has no tier "${tier}" (it has ${tiers.map((t) => t.name).join(", ")})`);
    }
    const created = await admin("POST", "/admin/keys", { name: `load-${scenario.name}-${Date.now()}`, tier });
    const id = (created["key"] as { id: string }).id;
    return {
      apiKey: created["secret"] as string,
      tier,
      revoke: async () => {
        await admin("POST", `/admin/keys/${id}/revoke`).catch(() => {});
      },
    };
  }
  if (!target.apiKey)
    throw new Error("no API key: pass --api-key, or --admin-key and --admin-url to make one");
  if (scenario.tier) {
    console.error(`note: no admin key, so the given key is used; the scenario expects tier ${scenario.tier}`);
  }
  return { apiKey: target.apiKey, tier: scenario.tier ?? "(given key)", revoke: async () => {} };
}

/** One line, rewritten in place on a terminal, a new line every 5 s otherwise (CI logs). */
function showProgress(run: LoadRun, scenario: Scenario): () => void {
  const tty = process.stderr.isTTY;
  const total = scenario.durationSeconds;
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (!tty && ticks % 5 !== 0) return;
    const elapsed = (performance.now() - run.startedAt) / 1_000;
    const done = Math.min(1, scenario.requests ? run.samples.length / scenario.requests : elapsed / total);
    const bar = "#".repeat(Math.round(done * 20)).padEnd(20, ".");
    const s = summarise(run.samples);
    const line =
      `[${bar}] ${elapsed.toFixed(0)}/${total}s  ${s.requests} req (${(s.requests / elapsed).toFixed(0)}/s)` +
      `  429: ${s.refused429}  failed: ${s.failed}`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  }, 1_000);
  return () => {
    clearInterval(timer);
    if (tty) process.stderr.write("\n");
  };
}

const fmt = (v: number | undefined, metric: string) =>
  v === undefined
    ? "n/a"
    : metric.endsWith("Ms")
      ? `${v.toFixed(1)} ms`
      : Number.isInteger(v)
        ? String(v)
        : v.toFixed(4);

export function summaryTable(stats: Stats, checks: readonly Check[]): string {
  // Plain when not on a terminal: CI logs and pipes get no colour codes.
  const table = new Table({
    head: ["metric", "value", "threshold", "result"],
    ...(process.stdout.isTTY ? {} : { style: { head: [], border: [] } }),
  });
  for (const c of checks) {
    const bound = [
      c.bound.min === undefined ? "" : `>= ${c.bound.min}`,
      c.bound.max === undefined ? "" : `<= ${c.bound.max}`,
    ]
      .filter(Boolean)
      .join(" and ");
    table.push([c.metric, fmt(c.value, c.metric), bound, c.pass ? "pass" : "FAIL"]);
  }
  table.push(
    ["requests", String(stats.requests), "", ""],
    ["ok (200, whole)", String(stats.ok), "", ""],
    ["refused (429)", String(stats.refused429), "", ""],
    ["p50 latency", fmt(stats.p50LatencyMs, "Ms"), "", ""],
  );
  return table.toString();
}

async function main(argv: string[]): Promise<number> {
  const name = argv.find((a, i) => !a.startsWith("--") && (i === 0 || !argv[i - 1]!.startsWith("--")));
  if (!name || argv.includes("--help")) {
    console.error(USAGE);
    return name ? 0 : 2;
  }
  // Not a scenario file: it starts its own gateway and simulator (loadtests/streams/).
  if (name === "streams2k") return streams2k(argv.filter((a) => a !== name));
  let scenario = loadScenario(name);
  const duration = flag(argv, "duration");
  const vus = flag(argv, "vus");
  if (duration) scenario = { ...scenario, durationSeconds: Number(duration) };
  if (vus) scenario = { ...scenario, vus: Number(vus) };
  if (!(scenario.durationSeconds > 0) || !Number.isInteger(scenario.vus) || scenario.vus < 1) {
    console.error("--duration must be a positive number of seconds and --vus a positive integer");
    return 2;
  }
  const target = await resolveEndpoints({ ...targetOptionsFromArgs(argv), log: (l) => console.error(l) });
  try {
    const model = flag(argv, "model") ?? scenario.model;
    if (target.models.length > 0 && !target.models.includes(model)) {
      throw new Error(
        `the target does not serve ${model} (it serves ${target.models.join(", ")}): pass --model`,
      );
    }
    const key = await keyFor(target, scenario);
    console.log(
      `load: ${scenario.name} against ${target.name} at ${target.baseUrl}: ${scenario.vus} users, ` +
        `${scenario.requests ? `${scenario.requests} requests within ` : ""}${scenario.durationSeconds} s, model ${model}, tier ${key.tier}`,
    );
    try {
      const run = startLoad({ baseUrl: target.baseUrl, apiKey: key.apiKey, scenario, model });
      const endProgress = showProgress(run, scenario);
      const interrupt = () => run.stop();
      process.once("SIGINT", interrupt);
      await run.done;
      process.off("SIGINT", interrupt);
      endProgress();
      const stats = summarise(run.samples);
      const checks = checkThresholds(stats, scenario.thresholds);
      console.log(summaryTable(stats, checks));
      const failed = checks.filter((c) => !c.pass);
      console.log(
        failed.length === 0
          ? `load: ${scenario.name} passed every threshold`
          : `load: ${scenario.name} FAILED ${failed.map((c) => c.metric).join(", ")}`,
      );
      return failed.length === 0 ? 0 : 1;
    } finally {
      await key.revoke();
    }
  } finally {
    await target.close();
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`load: ${(err as Error).message}`);
      process.exitCode = 2;
    },
  );
}
