import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../harness/localStack.ts";
import type { ScenarioReport } from "./lib/report.ts";
import { type RunTarget, runScenario } from "./lib/runScenario.ts";
import { SCENARIOS } from "./registry.ts";

/**
 * Every scenario against the local stack: it passes with its script, and FAILS with a readable
 * reason when the simulators carry the fault that breaks agents (proof that it checks outcomes).
 */

const dir = mkdtempSync(join(tmpdir(), "gonka-scenarios-"));
const reportDir = join(dir, "reports");
let stack: LocalStack;
let target: RunTarget;

beforeAll(async () => {
  // Heavy one-time installs (CrewAI's virtualenv) happen here, cached; .ci/run does them earlier.
  for (const s of SCENARIOS) await s.prepare?.((line) => console.log(line));
  stack = await startLocalStack({ dataDir: join(dir, "data"), port: 0 });
  target = {
    name: "local",
    gatewayUrl: stack.info.gatewayUrl!,
    apiKey: stack.info.apiKey!,
    backends: stack.info.backends,
  };
}, 900_000);
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function readReport(name: string): { json: ScenarioReport; md: string } {
  return {
    json: JSON.parse(readFileSync(join(reportDir, `${name}.json`), "utf8")) as ScenarioReport,
    md: readFileSync(join(reportDir, `${name}.md`), "utf8"),
  };
}

describe.each(SCENARIOS.map((s) => [s.name, s] as const))("scenario %s", (name, scenario) => {
  it(
    "completes its task against the local stack, with a full report",
    async () => {
      const report = await runScenario(scenario, target, { reportDir });
      expect(report.reason).toBe("");
      expect(report.pass).toBe(true);
      const { json, md } = readReport(name);
      expect(json.sessionId).toMatch(new RegExp(`^scn-${name}-`));
      // Every model call carried the session id, and tool calls are reported with their arguments.
      expect(json.steps.length).toBeGreaterThanOrEqual(3);
      expect(json.steps.every((s) => s.sessionId === json.sessionId && s.status === 200)).toBe(true);
      if (name.endsWith("-react")) {
        // The text ReAct path has no native tool calls: its actions are in the content.
        expect(json.steps.some((s) => s.toolCalls.length === 0 && s.content.includes("Action Input:"))).toBe(
          true,
        );
      } else {
        expect(
          json.steps.some((s) => s.toolCalls.length > 0 && typeof s.toolCalls[0]!.arguments === "object"),
        ).toBe(true);
      }
      expect(json.totals.promptTokens).toBeGreaterThan(0);
      expect(json.steps.every((s) => s.latencyMs >= 0)).toBe(true);
      // The script drove it: no request fell through.
      expect(json.scriptHits.reduce((n, h) => n + h.unmatched, 0)).toBe(0);
      expect(md).toContain(`# Scenario ${name}: PASS`);
      expect(md).toContain(json.sessionId);
    },
    scenario.timeoutMs + 30_000,
  );

  it(
    `FAILS with a readable reason under ${scenario.breakingFault.map((f) => f.mode).join(", ")}`,
    async () => {
      const report = await runScenario(scenario, target, { reportDir, fault: true });
      expect(report.pass).toBe(false);
      expect(report.faults).toEqual(scenario.breakingFault.map((f) => f.mode));
      const failed = report.checks.filter((c) => !c.pass);
      expect(failed.length).toBeGreaterThan(0);
      expect(report.reason).toBe(`${failed[0]!.name}: ${failed[0]!.detail}`);
      const { md } = readReport(`${name}.fault`);
      expect(md).toContain(`# Scenario ${name}: FAIL`);
      expect(md).toContain(`**reason**: ${report.reason.split("\n")[0]!.slice(0, 40)}`);
    },
    scenario.timeoutMs + 30_000,
  );
});

describe("npm run scenario", () => {
  it("runs one scenario by name against the running local stack and exits 0, writing reports and a summary", async () => {
    const out = join(dir, "cli-reports");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["scenarios/run.ts", "vercel-ai", "--target", "local", "--report-dir", out],
      {
        cwd: resolve(import.meta.dirname, ".."),
        env: { ...process.env, GONKA_DATA_DIR: join(dir, "data") },
        timeout: 60_000,
      },
    );
    expect(stdout).toContain("using the local stack");
    expect(stdout).toContain("[vercel-ai] PASS");
    expect(existsSync(join(out, "vercel-ai.md"))).toBe(true);
    expect(readFileSync(join(out, "summary.md"), "utf8")).toContain("| [vercel-ai](vercel-ai.md) | PASS |");
  }, 90_000);

  it("exits 2 with the list of scenarios for an unknown name", async () => {
    const err = await promisify(execFile)(process.execPath, ["scenarios/run.ts", "nope"], {
      cwd: resolve(import.meta.dirname, ".."),
      env: { ...process.env, GONKA_DATA_DIR: join(dir, "data") },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toContain("langgraph-stream");
  }, 30_000);
});
