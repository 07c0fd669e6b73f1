/**
 * `npm run bench` end to end (a short run of the CLI in a scratch folder: real simulators,
 * real gateway processes), and the Portkey peer as the bench installs and starts it, streaming
 * on this Node, which is what its pinned @hono/node-server is for.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spawnSimulator } from "../sim/spawn.ts";
import { interruptMidRun } from "./interruptRun.ts";
import { assertSafeLitellm, LITELLM_VERSION, PORTKEY_VERSION, peersDir } from "./peers/install.ts";
import { startPortkey } from "./peers/portkey.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "gonka-bench-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bench(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd: scratch, env, timeout: 90_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
      },
    );
  });
}

const SHORT = ["--seconds", "0.3", "--rounds", "1", "--rate", "50", "--connections", "4"];

describe("npm run bench", () => {
  it("prints one table for the rows asked for, with progress, and writes it to reports/bench.md", async () => {
    const { code, stdout, stderr } = await bench([
      "--only",
      "core",
      "--no-peers",
      "--seconds",
      "0.3",
      "--rounds",
      "2",
      "--rate",
      "50",
      "--connections",
      "4",
    ]);
    expect(stderr).toContain("bench: round 2/2  streamed @50/s  gateway core: p50");
    expect(code).toBe(0);
    const report = readFileSync(join(scratch, "reports", "bench.md"), "utf8");
    expect(stdout).toContain(report.trim());
    expect(report).toMatch(/load average \(1, 5, 15 min\) [\d.]+, [\d.]+, [\d.]+ before/);
    const rows = (title: string) =>
      report
        .split(title)[1]!
        .split("\n")
        .filter((l) => l.startsWith("| ") && !l.startsWith("| system"));
    for (const title of ["## Non-streamed", "## Streamed"]) {
      const table = rows(title).slice(0, 3);
      // direct and bare are always measured (the baselines), then only what --only asked for.
      expect(table.map((l) => l.split(" | ")[0])).toEqual([
        "| direct to the simulator",
        "| bare proxy (floor)",
        "| gateway core",
      ]);
      expect(table[1]).toContain("(1.0×)");
      // A busy machine may not hold even 50/s: the row then says so ("fell behind") rather than fail.
      expect(table[2]).toMatch(
        /^\| gateway core \| [\d,]+ \([\d.]+×\) \| [\d,]+ \| -?[\d.]+ \/ -?[\d.]+( \(fell behind\))? \|/,
      );
    }
    expect(report).not.toContain("Portkey");
    expect(report).not.toContain("Errors:");
  }, 90_000);

  it("says a row cannot sustain a fixed rate far beyond its saturation, instead of queueing for minutes", async () => {
    const { code, stderr } = await bench(["--only", "core", "--no-peers", ...SHORT, "--rate", "1000000"]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/non-streamed @1000000\/s {2}gateway core: skipped, saturates at \d+\/s/);
    const report = readFileSync(join(scratch, "reports", "bench.md"), "utf8");
    const core = report.split("\n").filter((l) => l.startsWith("| gateway core |"));
    expect(core).toHaveLength(2);
    for (const row of core) expect(row).toContain("| cannot sustain 1000000/s |");
  }, 90_000);

  it("stops every process it started when it is told to stop mid-run (SIGTERM to it alone, as a CI timeout sends)", async () => {
    const run = await interruptMidRun([MAIN, "--only", "core,sqlite", "--no-peers", ...SHORT], {
      cwd: scratch,
      when: "round 1/1",
    });
    // Simulators, bare proxies, the core and SQLite gateways, Redis: all children of the bench.
    expect(run.started.length).toBeGreaterThanOrEqual(6);
    expect(run.code).toBe(143);
    expect(run.output).toContain("SIGTERM: stopping what this run started");
    expect(run.survivors).toEqual([]);
  }, 90_000);

  it("refuses an unknown row with exit 2 and the usage", async () => {
    const { code, stderr } = await bench(["--only", "nginx"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown row nginx");
    expect(stderr).toContain("Usage: npm run bench");
  });
});

describe("peers", () => {
  it("a peer that cannot be installed is listed as skipped, with why, and the table still prints", async () => {
    const cache = mkdtempSync(join(tmpdir(), "gonka-bench-cache-"));
    try {
      const { code, stdout, stderr } = await bench(["--only", "portkey", ...SHORT], {
        ...process.env,
        GONKA_CACHE_DIR: cache,
        // A registry nothing listens on, and no retries: the install fails at once.
        npm_config_registry: "http://127.0.0.1:1/",
        npm_config_fetch_retries: "0",
        npm_config_fetch_timeout: "2000",
      });
      expect(stderr).toContain("portkey: npm install @portkey-ai/gateway@");
      expect(code).toBe(0);
      const report = readFileSync(join(scratch, "reports", "bench.md"), "utf8");
      expect(stdout).toContain("| bare proxy (floor) |");
      expect(report).toMatch(/Skipped:\n- portkey: npm install exited \d+/);
      expect(report).not.toContain("| Portkey");
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 90_000);

  it("never runs the compromised LiteLLM releases", () => {
    expect(() => assertSafeLitellm("1.82.7")).toThrow(/compromised/);
    expect(() => assertSafeLitellm("1.82.8")).toThrow(/compromised/);
    expect(() => assertSafeLitellm(LITELLM_VERSION)).not.toThrow();
  });

  it(`Portkey ${PORTKEY_VERSION}, installed into the cache with @hono/node-server pinned, streams on this Node`, async () => {
    const sim = await spawnSimulator({ model: "llama-4-maverick" });
    const lines: string[] = [];
    const portkey = await startPortkey((l) => lines.push(l));
    try {
      const hono = JSON.parse(
        readFileSync(
          join(
            peersDir(),
            `portkey-${PORTKEY_VERSION}`,
            "node_modules",
            "@hono",
            "node-server",
            "package.json",
          ),
          "utf8",
        ),
      ) as { version: string };
      expect(hono.version).toBe("1.14.1");
      const res = await fetch(`${portkey.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...portkey.headersFor(sim.url) },
        body: JSON.stringify({
          model: "llama-4-maverick",
          stream: true,
          max_tokens: 4,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    } finally {
      await portkey.stop();
      await sim.stop();
    }
  }, 120_000);
});
