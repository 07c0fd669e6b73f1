import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getPreset } from "../../catalog/index.ts";
import { check, near, type Scenario, type ScenarioContext } from "../lib/types.ts";
import { ensureOpenclaw } from "./install.ts";

/**
 * TEST-01: the real OpenClaw CLI, headless (`openclaw agent exec`), with a custom
 * OpenAI-compatible provider for the gateway, completes a task that needs several tool calls:
 * read a data file, compute, write a result file, read it back. Checked on the file it wrote
 * and the tools it used (its JSON envelope), not on its wording.
 */

const NUMBERS = "12\n7\n30\n1.5\n";
const SUM = 12 + 7 + 30 + 1.5;
const TASK =
  "Read numbers.txt in the workspace, add up the numbers, write the sum to result.txt, then read result.txt back to check it. Answer with the sum.";
const PROVIDER = "gonka";

/** The pinned config: our gateway as a custom provider, web/browser/UI tools denied. */
function openclawConfig(ctx: ScenarioContext) {
  const preset = getPreset(ctx.model);
  return {
    models: {
      mode: "merge",
      providers: {
        [PROVIDER]: {
          baseUrl: ctx.baseUrl,
          apiKey: ctx.apiKey,
          api: "openai-completions",
          headers: { "X-Session-Id": ctx.sessionId },
          models: [
            {
              id: preset.id,
              name: preset.id,
              reasoning: preset.capabilities.includes("reasoning"),
              input: ["text"],
              contextWindow: preset.contextLength,
              maxTokens: 8192,
            },
          ],
        },
      },
    },
    tools: { deny: ["group:web", "group:ui", "browser"] },
  };
}

interface Envelope {
  ok?: boolean;
  status?: string;
  final?: string;
  toolSummary?: { calls?: number; tools?: string[]; failures?: number };
  error?: { message?: string; kind?: string };
}

function runOpenclaw(bin: string, ctx: ScenarioContext, wallSeconds: number) {
  const ws = join(ctx.workdir, "ws");
  const home = join(ctx.workdir, "home");
  mkdirSync(ws, { recursive: true });
  mkdirSync(join(home, "state"), { recursive: true });
  writeFileSync(join(ws, "numbers.txt"), NUMBERS);
  writeFileSync(join(ctx.workdir, "task.md"), `${TASK}\n`);
  const config = join(ctx.workdir, "openclaw.json");
  writeFileSync(config, `${JSON.stringify(openclawConfig(ctx), null, 2)}\n`);
  const args = [
    bin,
    "agent",
    "exec",
    "--config",
    config,
    "--cwd",
    ws,
    "--model",
    `${PROVIDER}/${ctx.model}`,
    "--json",
    "--message-file",
    join(ctx.workdir, "task.md"),
    "--timeout",
    String(wallSeconds),
  ];
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ws,
      // State, config and logs in the run's temporary folder, never the operator's ~/.openclaw.
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        HOME: home,
        OPENCLAW_STATE_DIR: join(home, "state"),
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr = (stderr + c.toString("utf8")).slice(-8000);
    });
    const kill = () => child.kill("SIGKILL");
    ctx.signal.addEventListener("abort", kill, { once: true });
    child.once("error", reject);
    child.once("exit", (code) => {
      ctx.signal.removeEventListener("abort", kill);
      resolve({ code, stdout, stderr });
    });
  });
}

export const openclawScenario: Scenario = (() => {
  let bin = "";
  const timeoutMs = 180_000;
  return {
    name: "openclaw",
    framework: "OpenClaw (headless agent exec)",
    task: "Read numbers.txt, add the numbers up, write the sum to result.txt and read it back.",
    model: "kimi-k2.5",
    script: fileURLToPath(new URL("./script.yaml", import.meta.url)),
    breakingFault: [{ mode: "leak_tool_markers" }],
    timeoutMs,
    async prepare(log) {
      bin = await ensureOpenclaw(log);
    },
    async run(ctx) {
      // OpenClaw's own deadline ends before ours, so its envelope still reports a timeout.
      const result = await runOpenclaw(bin, ctx, Math.floor(timeoutMs / 1000) - 30);
      let envelope: Envelope | undefined;
      try {
        envelope = JSON.parse(result.stdout) as Envelope;
      } catch {
        ctx.log(`no JSON envelope; stderr: ${result.stderr.split("\n").slice(-5).join(" | ").slice(0, 600)}`);
      }
      if (envelope) {
        ctx.log(
          `openclaw exited ${result.code}: status ${envelope.status}, tools ${JSON.stringify(envelope.toolSummary)}${envelope.error ? `, error ${envelope.error.message}` : ""}`,
        );
      }
      const resultFile = join(ctx.workdir, "ws", "result.txt");
      const written = existsSync(resultFile) ? readFileSync(resultFile, "utf8").trim() : undefined;
      const tools = envelope?.toolSummary?.tools ?? [];
      return [
        check(
          "the run completed",
          result.code === 0 && envelope?.status === "ok",
          `exit ${result.code}, status ${envelope?.status ?? "no envelope"}${envelope?.error?.message ? `: ${envelope.error.message}` : ""}`,
        ),
        check(
          "result.txt holds the sum of numbers.txt",
          written !== undefined && near(Number(written), SUM),
          `expected ${SUM}; result.txt ${written === undefined ? "was not written" : `holds ${JSON.stringify(written)}`}`,
        ),
        check(
          "it read and wrote through its tools, several calls",
          tools.includes("read") && tools.includes("write") && (envelope?.toolSummary?.calls ?? 0) >= 3,
          `tool summary: ${JSON.stringify(envelope?.toolSummary ?? null)}`,
        ),
      ];
    },
  };
})();
