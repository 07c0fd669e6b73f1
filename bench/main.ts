/**
 * `npm run bench`: one table, from one interleaved run, of what the gateway costs against the
 * floor and against its peers, all pointed at the same simulators: direct to the simulator,
 * a bare Node proxy, the gateway core, all features on SQLite and on Postgres, all features
 * with sessions, and the peers installed from their registries (Portkey's OSS gateway; the
 * LiteLLM proxy where python3 exists). Progress while it runs; the table at the end, also
 * written to reports/bench.md.
 *
 *   --seconds N    duration of each cell (default 3)
 *   --rounds N     interleaved rounds; medians are kept (default 3)
 *   --rate N       requests (and streams) per second of the fixed-rate cells (default 500)
 *   --connections N  connections of the saturated cells (default 50)
 *   --only a,b     only these rows (direct and bare are always measured: they are the baselines):
 *                  direct, bare, core, sqlite, postgres, sessions, portkey, litellm
 *   --no-peers     skip Portkey and LiteLLM (no installs)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { type SignalStop, stopOnSignal } from "../harness/stopOnSignal.ts";
import { type BenchSettings, runBench } from "./measure.ts";
import { benchMarkdown, describeMachine } from "./report.ts";
import { PEER_IDS, startTargets, TARGET_IDS, type TargetId } from "./targets.ts";

const USAGE = `Usage: npm run bench -- [--seconds N] [--rounds N] [--rate N] [--connections N] [--only ${TARGET_IDS.join(",")}] [--no-peers]`;

function settingsFrom(argv: string[]): { settings: BenchSettings; wanted: Set<TargetId> } {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string", default: "3" },
      rounds: { type: "string", default: "3" },
      rate: { type: "string", default: "500" },
      connections: { type: "string", default: "50" },
      only: { type: "string" },
      "no-peers": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const settings = {
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    rate: Number(values.rate),
    connections: Number(values.connections),
  };
  for (const [k, v] of Object.entries(settings)) {
    if (!(v > 0) || (k !== "seconds" && !Number.isInteger(v)))
      throw new Error(`--${k} must be a positive number`);
  }
  const only = values.only
    ?.split(",")
    .map((x) => x.trim())
    .filter(Boolean) ?? [...TARGET_IDS];
  const unknown = only.filter((x) => !(TARGET_IDS as readonly string[]).includes(x));
  if (unknown.length) throw new Error(`unknown row ${unknown.join(", ")}; rows: ${TARGET_IDS.join(", ")}`);
  const wanted = new Set<TargetId>(["direct", "bare", ...(only as TargetId[])]);
  if (values["no-peers"]) for (const p of PEER_IDS) wanted.delete(p);
  return { settings, wanted };
}

let signals: SignalStop | undefined;

async function main(argv: string[]): Promise<void> {
  const { settings, wanted } = settingsFrom(argv);
  const loadBefore = loadavg();
  const log = (line: string) => console.error(`bench: ${line}`);
  const starting = startTargets(wanted, log);
  // A signal during start-up stops the rows once they are up (or have failed to start).
  signals = stopOnSignal(async () => (await starting.catch(() => undefined))?.stop(), log);
  const started = await starting;
  try {
    const cells = started.targets.length * 4 * settings.rounds;
    log(
      `${started.targets.length} rows × 4 cells × ${settings.rounds} rounds × ${settings.seconds} s: about ${Math.ceil((cells * settings.seconds) / 60)} min`,
    );
    const rows = await runBench(started.targets, settings, log);
    const markdown = benchMarkdown(rows, settings, describeMachine(loadBefore), started.skipped);
    mkdirSync("reports", { recursive: true });
    writeFileSync("reports/bench.md", markdown);
    console.log(`\n${markdown}`);
    log("written to reports/bench.md");
  } finally {
    await started.stop();
    signals.release();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Interrupted: measurements fail as the servers go; the signal's handler exits when done.
  if (signals?.interrupted()) return;
  console.error(`bench: ${(err as Error).message}`);
  console.error(USAGE);
  process.exitCode = 2;
});
