/**
 * `npm run bench:gateway` interrupted mid-run: everything it started (simulators, bare proxies,
 * the core gateway, both all-features gateways, Redis, Postgres) stops with it. The full run
 * takes minutes and is not part of the test suite; its measurements are in the README.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { processTree } from "../../bench/proc.ts";
import { isRunning } from "../../harness/processAlive.ts";

const MAIN = fileURLToPath(new URL("./gatewayBench.ts", import.meta.url));

it("stops every process it started on SIGTERM to it alone, and exits 143", async () => {
  const child = spawn(process.execPath, [MAIN, "--seconds", "0.3", "--rounds", "1"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("measuring")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(() => reject(new Error(`the bench ended before measuring:\n${output}`)));
  });
  const started = processTree([child.pid!]).filter((pid) => pid !== child.pid);
  // Two simulators, two bare proxies, three gateways, Redis, Postgres.
  expect(started.length).toBeGreaterThanOrEqual(9);
  child.kill("SIGTERM");
  try {
    expect(await exited).toBe(143);
    expect(output).toContain("SIGTERM: stopping what this run started");
    expect(started.filter(isRunning)).toEqual([]);
  } finally {
    // Should it fail, what the bench left running is still ours to stop.
    for (const pid of started.filter(isRunning)) process.kill(pid, "SIGKILL");
  }
}, 90_000);
