/**
 * `npm run scenario -- <name> [--target local|<stack>] [--base-url URL --api-key K] [--fault]`
 * `npm run scenarios -- [--target …] [--with-faults]`
 * Resolves the target once (harness/targets.ts: the local stack is used if running, else started
 * for the run), runs the scenarios one after another and writes a Markdown + JSON report per run
 * and a summary to reports/scenarios/ (`--report-dir` changes it). Exit code 0 only when every
 * normal run passed and every fault run failed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type LocalStackInfo, localStackFile } from "../harness/localStack.ts";
import { resolveTarget, targetOptionsFromArgs } from "../harness/targets.ts";
import { renderSummary, type ScenarioReport } from "./lib/report.ts";
import { type RunTarget, runScenario } from "./lib/runScenario.ts";
import { findScenario, SCENARIOS } from "./registry.ts";

const ROOT = resolve(import.meta.dirname, "..");

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** Positional arguments: everything that is neither a flag nor a flag's value. */
function positionals(argv: readonly string[]): string[] {
  const valued = new Set([
    "--target",
    "--base-url",
    "--api-key",
    "--admin-key",
    "--admin-url",
    "--ops-url",
    "--report-dir",
  ]);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (valued.has(a)) i++;
    else if (!a.startsWith("--")) out.push(a);
  }
  return out;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const all = argv.includes("--all");
  const names = positionals(argv);
  if (!all && names.length === 0) {
    console.error(
      `usage: npm run scenario -- <name> [--target local|<stack>] [--fault]\n       npm run scenarios [-- --target …] [--with-faults]\nscenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`,
    );
    return 2;
  }
  const chosen = all ? SCENARIOS : names.map(findScenario);
  const reportDir = resolve(ROOT, flag(argv, "report-dir") ?? "reports/scenarios");
  const options = targetOptionsFromArgs(argv);
  const target = await resolveTarget({ ...options, log: (l) => console.log(l) });
  try {
    if (!target.apiKey)
      throw new Error(`${target.name}: no API key (--api-key, GONKA_API_KEY, or an admin key)`);
    let backends: LocalStackInfo["backends"] | undefined;
    if (target.name === "local") {
      const file = localStackFile(resolve(options.dataDir ?? ".gonka"));
      if (existsSync(file)) backends = (JSON.parse(readFileSync(file, "utf8")) as LocalStackInfo).backends;
    }
    const runTarget: RunTarget = {
      name: target.name,
      gatewayUrl: target.baseUrl,
      apiKey: target.apiKey,
      ...(backends ? { backends } : {}),
    };
    console.log(
      `scenarios: target ${target.name} at ${target.baseUrl}${backends ? " (simulators scripted per scenario)" : " (real models, no scripts)"}`,
    );
    const reports: ScenarioReport[] = [];
    let ok = true;
    const withFaults = argv.includes("--with-faults");
    for (const s of chosen) {
      const plain = !argv.includes("--fault");
      if (plain) {
        const r = await runScenario(s, runTarget, { reportDir, print: console.log });
        reports.push(r);
        ok &&= r.pass;
      }
      if (!plain || withFaults) {
        const r = await runScenario(s, runTarget, { reportDir, fault: true, print: console.log });
        reports.push(r);
        // A fault run proves the checks: it must fail.
        ok &&= !r.pass;
        if (r.pass)
          console.log(`[${s.name}] the fault run PASSED: its checks did not notice ${r.faults.join(", ")}`);
      }
    }
    mkdirSync(reportDir, { recursive: true });
    writeFileSync(join(reportDir, "summary.md"), renderSummary(reports));
    writeFileSync(
      join(reportDir, "summary.json"),
      `${JSON.stringify(
        reports.map(({ steps: _s, log: _l, ...r }) => r),
        null,
        2,
      )}\n`,
    );
    console.log(`reports: ${reportDir}/summary.md`);
    return ok ? 0 : 1;
  } finally {
    await target.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`scenarios: ${(err as Error).message}`);
    process.exit(2);
  },
);
