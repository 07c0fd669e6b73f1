import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRecorder } from "./recorder.ts";
import { renderMarkdown, type ScenarioReport, totals } from "./report.ts";
import { type SimBackend, SimControl } from "./simControl.ts";
import type { Check, Scenario } from "./types.ts";

export interface RunTarget {
  /** `local`, a stack name or `url`. */
  name: string;
  /** The gateway's origin (no `/v1`). */
  gatewayUrl: string;
  apiKey: string;
  /** The local stack's simulators; absent for a real stack (the real model answers). */
  backends?: readonly SimBackend[];
}

export interface RunOptions {
  /** Set the scenario's breaking fault (local only): the run must then fail. */
  fault?: boolean;
  /** Where `<name>.json` and `<name>.md` go (`<name>.fault.*` for a fault run). */
  reportDir: string;
  print?: (line: string) => void;
}

/** Runs one scenario against a target and writes its report; never throws for a failed run. */
export async function runScenario(
  scenario: Scenario,
  target: RunTarget,
  opts: RunOptions,
): Promise<ScenarioReport> {
  const print = opts.print ?? (() => {});
  const log: string[] = [];
  const say = (line: string) => {
    log.push(line);
    print(`[${scenario.name}] ${line}`);
  };
  const sessionId = `scn-${scenario.name}-${randomBytes(4).toString("hex")}`;
  const startedAt = new Date();
  const t0 = performance.now();
  const workdir = mkdtempSync(join(tmpdir(), `gonka-scn-${scenario.name}-`));
  const sims = target.backends ? new SimControl(target.backends, scenario.model) : undefined;
  const faults = opts.fault ? scenario.breakingFault : [];
  if (opts.fault && !sims) throw new Error("--fault needs the local stack (it sets simulator faults)");
  const recorder = await startRecorder(target.gatewayUrl);
  let checks: Check[] = [];
  let error: string | undefined;
  let scriptHits: ScenarioReport["scriptHits"] = [];
  try {
    await scenario.prepare?.(say);
    if (sims) {
      await sims.reset();
      await sims.setScript(scenario.script);
      if (faults.length > 0) await sims.setFaults(faults);
      say(
        `simulator script ${scenario.script} on ${sims.replicas.length} replica(s) of ${scenario.model}${faults.length > 0 ? `, faults ${faults.map((f) => f.mode).join(", ")}` : ""}`,
      );
    }
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`wall-clock limit of ${scenario.timeoutMs} ms reached`)),
      scenario.timeoutMs,
    );
    try {
      const aborted = new Promise<never>((_, reject) =>
        controller.signal.addEventListener("abort", () => reject(controller.signal.reason as Error), {
          once: true,
        }),
      );
      checks = await Promise.race([
        scenario.run({
          baseUrl: recorder.baseUrl,
          gatewayUrl: target.gatewayUrl,
          apiKey: target.apiKey,
          model: scenario.model,
          sessionId,
          workdir,
          signal: controller.signal,
          log: say,
        }),
        aborted,
      ]);
    } finally {
      clearTimeout(timer);
      controller.abort(new Error("scenario over"));
    }
  } catch (err) {
    error = `the run ended with an error: ${(err as Error).message}`;
  } finally {
    if (sims) {
      scriptHits = await sims.hits().catch(() => []);
      await sims.reset().catch(() => {});
    }
    await recorder.close();
    rmSync(workdir, { recursive: true, force: true });
  }
  const failed = checks.find((c) => !c.pass);
  const pass = error === undefined && checks.length > 0 && failed === undefined;
  const reason =
    error ?? (failed ? `${failed.name}: ${failed.detail}` : checks.length === 0 ? "no checks ran" : "");
  const report: ScenarioReport = {
    scenario: scenario.name,
    framework: scenario.framework,
    task: scenario.task,
    target: target.name,
    model: scenario.model,
    sessionId,
    faults: faults.map((f) => f.mode),
    pass,
    reason,
    checks,
    steps: recorder.steps,
    totals: totals(recorder.steps, performance.now() - t0),
    scriptHits,
    log,
    startedAt: startedAt.toISOString(),
  };
  mkdirSync(opts.reportDir, { recursive: true });
  const base = join(opts.reportDir, `${scenario.name}${faults.length > 0 ? ".fault" : ""}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMarkdown(report));
  print(`[${scenario.name}] ${pass ? "PASS" : "FAIL"}${pass ? "" : `: ${reason}`} (${base}.md)`);
  return report;
}
