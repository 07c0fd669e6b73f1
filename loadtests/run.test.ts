/**
 * `npm run load` end to end: the runner process against a real gateway process (on
 * simulators), with the shipped scenario files and the default tiers.
 */
import { execFile, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, type ProcessFixture, startProcessFixture } from "../gateway/test/processFixture.ts";
import type { SpawnedGateway } from "../harness/spawnGateway.ts";
import { SCENARIO_DIR } from "./scenario.ts";

const RUNNER = fileURLToPath(new URL("./run.ts", import.meta.url));
let fx: ProcessFixture;
let gw: SpawnedGateway;

function load(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const target = [
    "--base-url",
    gw.url,
    "--admin-key",
    ADMIN_KEY,
    "--admin-url",
    gw.opsUrl,
    "--model",
    "qwen3-32b",
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, [RUNNER, ...args, ...target], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
    });
  });
}

/** The summary table's value for a metric row. */
function row(stdout: string, metric: string): string | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith(`│ ${metric} `));
  return line?.split("│")[2]?.trim();
}

beforeAll(async () => {
  fx = await startProcessFixture({ preset: "qwen3-32b" });
  gw = await fx.startGateway();
});

afterAll(async () => {
  await fx?.close();
});

describe("npm run load", () => {
  it("burst-over-limit: 90 requests on a fresh free-tier key, exactly 60 admitted, passes", async () => {
    const { code, stdout } = await load("burst-over-limit");
    expect(stdout).toContain("passed every threshold");
    expect(code).toBe(0);
    expect(row(stdout, "requests")).toBe("90");
    expect(row(stdout, "refused (429)")).toBe("30");
    expect(row(stdout, "share429")).toBe("0.3333");
    expect(row(stdout, "malformed429")).toBe("0");
  });

  it("steady-chat-stream, shortened: measures time to first token, nothing refused, passes", async () => {
    const { code, stdout, stderr } = await load("steady-chat-stream", "--duration", "6", "--vus", "4");
    expect(code, stdout + stderr).toBe(0);
    expect(row(stdout, "p95TtftMs")).toMatch(/^\d+\.\d ms$/);
    expect(Number(row(stdout, "requests"))).toBeGreaterThan(20);
    expect(row(stdout, "refused (429)")).toBe("0");
    // Not a terminal: a progress line every 5 s on stderr.
    expect(stderr).toMatch(/\[#+\.*\] \d+\/6s {2}\d+ req/);
  });

  it("agent-sessions, shortened: multi-turn conversations under X-Session-Id pass", async () => {
    const { code, stdout } = await load("agent-sessions", "--duration", "3", "--vus", "4");
    expect(code, stdout).toBe(0);
    expect(Number(row(stdout, "ok (200, whole)"))).toBeGreaterThan(4);
  });

  it("exits 1 and names the threshold when one fails (the burst on a tier that never refuses)", async () => {
    const scenario = JSON.parse(readFileSync(join(SCENARIO_DIR, "burst-over-limit.json"), "utf8"));
    const file = join(fx.dir, "burst-enterprise.json");
    writeFileSync(file, JSON.stringify({ ...scenario, tier: "enterprise" }));
    const { code, stdout } = await load(file);
    expect(row(stdout, "share429")).toBe("0");
    expect(stdout).toContain("FAILED share429");
    expect(code).toBe(1);
  });

  it("Ctrl-C ends a run early with its summary", async () => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        RUNNER,
        "steady-chat",
        "--base-url",
        gw.url,
        "--admin-key",
        ADMIN_KEY,
        "--admin-url",
        gw.opsUrl,
        "--model",
        "qwen3-32b",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes("load: steady-chat against")) setTimeout(() => child.kill("SIGINT"), 1_000);
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(Date.now() - started).toBeLessThan(15_000); // the scenario lasts 30 s
    expect(Number(row(stdout, "requests"))).toBeGreaterThan(0);
    expect(code).toBe(0);
  });

  it("exits 2 without a key or a way to make one", async () => {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [RUNNER, "steady-chat", "--base-url", gw.url], {
        stdio: "ignore",
        env: { ...process.env, GONKA_API_KEY: "", GONKA_ADMIN_KEY: "" },
      });
      child.on("exit", resolve);
    });
    expect(code).toBe(2);
  });

  it("exits 2 on an unknown scenario", async () => {
    const { code, stderr } = await load("no-such-scenario");
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot read scenario no-such-scenario/);
  });
});
