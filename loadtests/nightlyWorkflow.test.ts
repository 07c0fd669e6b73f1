/**
 * The nightly k6 workflow (.github/workflows/load-nightly.yml) cannot run here (no k6, no
 * stacks), so this checks what can go wrong without running it: the YAML parses, it follows the
 * conformance workflow by that workflow's real name, every scenario it runs has its k6 script
 * and data file, every file its steps name exists, each k6 script publishes a summary, the
 * summary's Markdown says pass or FAIL per threshold, and the target variables come from a
 * stack's outputs.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type K6SummaryData, summaryMarkdown } from "./k6/summary.ts";
import { k6Env } from "./k6Env.ts";
import { scenarioNames } from "./scenario.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WORKFLOWS = join(ROOT, ".github", "workflows");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  name: string;
  on: Record<string, { workflows?: string[]; types?: string[] } | null>;
  jobs: Record<
    string,
    {
      if?: string;
      strategy: { matrix: { include: Array<{ environment: string; scenarios: string }> } };
      steps: Step[];
    }
  >;
}

const load = (file: string) => parse(readFileSync(join(WORKFLOWS, file), "utf8")) as Workflow;

describe("load-nightly workflow", () => {
  const wf = load("load-nightly.yml");
  const job = wf.jobs["load"]!;

  it("runs after the nightly conformance workflow, named as that workflow names itself", () => {
    const conformance = load("conformance-nightly.yml");
    expect(wf.on["workflow_run"]?.workflows).toEqual([conformance.name]);
    expect(wf.on["workflow_run"]?.types).toEqual(["completed"]);
    expect(job.if).toContain("github.event.workflow_run.conclusion == 'success'");
    expect(Object.keys(wf.on)).toContain("workflow_dispatch");
  });

  it("loads every environment conformance checks, each scenario with its k6 script and data file", () => {
    const conformance = load("conformance-nightly.yml");
    const envs = (conformance.jobs["conformance"]!.strategy.matrix as unknown as { environment: string[] })
      .environment;
    const matrix = job.strategy.matrix.include;
    expect(matrix.map((m) => m.environment).sort()).toEqual([...envs].sort());
    for (const m of matrix) {
      for (const scenario of m.scenarios.split(/\s+/)) {
        expect(scenarioNames(), `${m.environment}: ${scenario}`).toContain(scenario);
        expect(existsSync(join(ROOT, "loadtests", "k6", `${scenario}.ts`)), scenario).toBe(true);
      }
    }
    // dev gets every scenario there is.
    expect(
      matrix
        .find((m) => m.environment === "dev")!
        .scenarios.split(" ")
        .sort(),
    ).toEqual([...scenarioNames()].sort());
  });

  it("names only files that exist, installs k6, and publishes the summaries", () => {
    const runs = job.steps.map((s) => s.run ?? "").join("\n");
    const paths = [...runs.matchAll(/\b(loadtests\/[\w./$-]+\.ts)\b/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(1);
    for (const p of paths) {
      const files = p.includes("$scenario") ? scenarioNames().map((s) => p.replace("$scenario", s)) : [p];
      for (const f of files) expect(existsSync(join(ROOT, f)), f).toBe(true);
    }
    expect(job.steps.some((s) => s.uses?.startsWith("grafana/setup-k6-action@"))).toBe(true);
    expect(runs).toContain('>> "$GITHUB_STEP_SUMMARY"');
    const upload = job.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    expect(upload?.with?.["path"]).toBe("reports/k6/");
    expect(upload?.if).toContain("always()");
  });

  it("every k6 script writes its summary through handleSummary", () => {
    const scripts = readdirSync(join(ROOT, "loadtests", "k6")).filter(
      (f) => f.endsWith(".ts") && !["lib.ts", "summary.ts"].includes(f),
    );
    expect(scripts.length).toBe(scenarioNames().length);
    for (const f of scripts) {
      const text = readFileSync(join(ROOT, "loadtests", "k6", f), "utf8");
      expect(text, f).toContain(`export const handleSummary = (data: K6SummaryData)`);
      expect(text, f).toContain(`summaryFor("${f.replace(/\.ts$/, "")}", data)`);
    }
  });
});

describe("k6 summary as Markdown", () => {
  const data: K6SummaryData = {
    state: { testRunDurationMs: 30_412 },
    metrics: {
      gonka_errors: {
        type: "rate",
        values: { rate: 0.002, passes: 2, fails: 998 },
        thresholds: { "rate<=0.001": { ok: false } },
      },
      gonka_429: {
        type: "rate",
        values: { rate: 0, passes: 0, fails: 1000 },
        thresholds: { "rate<=0": { ok: true } },
      },
      gonka_latency_ok: {
        type: "trend",
        contains: "time",
        values: { avg: 120.5, "p(50)": 100, "p(95)": 310.25, "p(99)": 400, max: 512 },
        thresholds: { "p(95)<=2000": { ok: true } },
      },
      http_reqs: { type: "counter", values: { count: 1000, rate: 33.2 } },
    },
  };

  it("lists each threshold with pass or FAIL and says the run failed", () => {
    const md = summaryMarkdown("steady-chat", "staging", data);
    expect(md).toContain("### k6 steady-chat against staging: FAILED (1 of 3 thresholds)");
    expect(md).toContain("| gonka_errors | `rate<=0.001` | **FAIL** |");
    expect(md).toContain("| gonka_latency_ok | `p(95)<=2000` | pass |");
    expect(md).toContain("| gonka_errors | 0.20 % |");
    expect(md).toContain("| gonka_latency_ok | 120.5 ms | 100.0 ms | 310.3 ms | 400.0 ms | 512.0 ms |");
    expect(md).toContain("| http_reqs | 1000 |");
    expect(md).toContain("30 s.");
  });

  it("says passed when every threshold holds", () => {
    const ok = structuredClone(data);
    ok.metrics["gonka_errors"]!.thresholds = { "rate<=0.001": { ok: true } };
    expect(summaryMarkdown("steady-chat", "dev", ok)).toContain("### k6 steady-chat against dev: passed");
  });
});

describe("k6 target variables (loadtests/k6Env.ts)", () => {
  it("come from a stack's outputs, with GONKA_MODEL only when the stack lacks the scenarios' model", async () => {
    const outputs = {
      gatewayUrl: "https://api.staging.example/",
      adminUrl: "https://admin.staging.example",
      adminKey: "gka-staging-admin-0123456789",
      models: [{ id: "qwen3-32b" }],
    };
    const asked: string[][] = [];
    const lines = await k6Env(["--target", "staging"], async (args) => {
      asked.push(args);
      return JSON.stringify(outputs);
    });
    expect(asked).toEqual([["stack", "output", "--json", "--show-secrets", "-s", "staging"]]);
    expect(lines).toEqual([
      "GONKA_BASE_URL=https://api.staging.example",
      "GONKA_TARGET_NAME=staging",
      "GONKA_ADMIN_URL=https://admin.staging.example",
      "GONKA_ADMIN_KEY=gka-staging-admin-0123456789",
      "GONKA_MODEL=qwen3-32b",
    ]);
    const serving = await k6Env(["--target", "prod"], async () =>
      JSON.stringify({ ...outputs, apiKey: "gk-prod", models: [{ id: "kimi-k2.5" }] }),
    );
    expect(serving).toContain("GONKA_API_KEY=gk-prod");
    expect(serving.some((l) => l.startsWith("GONKA_MODEL="))).toBe(false);
  });

  it("refuses a target that gives no way to authenticate", async () => {
    await expect(k6Env(["--base-url", "https://api.example"])).rejects.toThrow(/neither an API key/);
  });
});
