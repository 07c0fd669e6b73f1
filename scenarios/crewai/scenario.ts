import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { check, near, type Scenario, type ScenarioContext } from "../lib/types.ts";
import { ensureCrewai } from "./install.ts";

/**
 * TEST-02: the real Python CrewAI (1.x; there is no maintained TypeScript port) runs a sequential
 * crew of two agents against the gateway: the analyst sums a region's sales from a CSV with a
 * custom tool, the writer gets that answer as task context and records it with another custom
 * tool. Both CrewAI paths: native OpenAI tool calling, and the text ReAct prompt it uses for
 * models without tool calling. Checked on the files the tools wrote.
 */

const SALES = "region,amount\nEMEA,1200.50\nAPAC,999.00\nEMEA,3050.25\nAMER,410.00\n";
const EMEA_TOTAL = 1200.5 + 3050.25;
const CREW = fileURLToPath(new URL("./crew.py", import.meta.url));

function runCrew(python: string, ctx: ScenarioContext, mode: "native" | "react") {
  const home = join(ctx.workdir, "home");
  mkdirSync(home, { recursive: true });
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(python, [CREW], {
      cwd: ctx.workdir,
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        // State and telemetry stay in the run's temporary folder and off the network.
        HOME: home,
        CREWAI_STORAGE_DIR: join(home, "crewai"),
        CREWAI_DISABLE_TELEMETRY: "true",
        CREWAI_TRACING_ENABLED: "false",
        OTEL_SDK_DISABLED: "true",
        CREWAI_TESTING: "true",
        PYTHONUNBUFFERED: "1",
        GONKA_BASE_URL: ctx.baseUrl,
        GONKA_API_KEY: ctx.apiKey,
        GONKA_MODEL: ctx.model,
        GONKA_SESSION_ID: ctx.sessionId,
        WORKDIR: ctx.workdir,
        CREW_MODE: mode,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output += chunk.toString("utf8");
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const kill = () => child.kill("SIGKILL");
    ctx.signal.addEventListener("abort", kill, { once: true });
    child.once("error", reject);
    child.once("exit", (code) => {
      ctx.signal.removeEventListener("abort", kill);
      resolve({ code, output });
    });
  });
}

/** The lines worth a report: the crew's result, or the exception that ended it. */
function summarise(output: string): string[] {
  const lines = output.split("\n").filter((l) => l.trim() && !l.includes("approximate input token count"));
  const done = lines.find((l) => l.includes('"event": "crew_done"'));
  if (done) return [done];
  const error = [...lines].reverse().find((l) => /^\w+(\.\w+)*(Error|Exception)\b/.test(l));
  return [...(error ? [error] : []), ...lines.slice(-3)].map((l) => l.slice(0, 600));
}

function crewScenario(mode: "native" | "react"): Scenario {
  let python = "";
  return {
    name: mode === "native" ? "crewai" : "crewai-react",
    framework: "CrewAI (Python)",
    task: `${mode === "native" ? "Native tool calling" : "Text ReAct path"}: a sequential crew of two agents — the analyst sums EMEA's sales from a CSV with a custom tool, the writer records the analyst's total (task context) with another.`,
    model: "kimi-k2.5",
    script: fileURLToPath(new URL("./script.yaml", import.meta.url)),
    breakingFault: mode === "native" ? [{ mode: "leak_tool_markers" }] : [{ mode: "drop_mid_stream" }],
    timeoutMs: 120_000,
    async prepare(log) {
      python = await ensureCrewai(log);
    },
    async run(ctx) {
      writeFileSync(join(ctx.workdir, "sales.csv"), SALES);
      ctx.log(`python ${CREW} (CREW_MODE=${mode})`);
      const result = await runCrew(python, ctx, mode);
      for (const line of summarise(result.output)) ctx.log(line);
      const callsFile = join(ctx.workdir, "calls.jsonl");
      const calls = existsSync(callsFile)
        ? readFileSync(callsFile, "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { tool: string; args: Record<string, unknown> })
        : [];
      const reportFile = join(ctx.workdir, "report.json");
      const report = existsSync(reportFile)
        ? (JSON.parse(readFileSync(reportFile, "utf8")) as { region?: string; total?: number })
        : undefined;
      const sums = calls.filter((c) => c.tool === "sum_sales");
      return [
        check("the crew finished", result.code === 0, `python exited ${result.code}`),
        check(
          "the analyst used its tool on the right region",
          sums.length >= 1 && sums.every((c) => c.args["region"] === "EMEA"),
          `sum_sales calls: ${JSON.stringify(sums.map((c) => c.args))}`,
        ),
        check(
          "the writer recorded the analyst's total (task context passed on)",
          report?.region === "EMEA" && near(report.total, EMEA_TOTAL),
          `expected report.json {region: EMEA, total: ${EMEA_TOTAL}}; got ${report ? JSON.stringify(report) : "no report.json"}`,
        ),
      ];
    },
  };
}

export const crewaiScenarios: Scenario[] = [crewScenario("native"), crewScenario("react")];
