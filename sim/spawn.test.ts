import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isRunning } from "../harness/processAlive.ts";
import { spawnSimulator } from "./spawn.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("simulator subprocess", () => {
  it("spawns, serves and stops on SIGTERM", async () => {
    const sim = await spawnSimulator({ model: "kimi", args: ["--ttft-ms", "1"] });
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.model).toBe("kimi-k2.5");
    const res = await fetch(`${sim.url}/v1/models`);
    expect(((await res.json()) as { data: { id: string }[] }).data[0]!.id).toBe("kimi-k2.5");
    await sim.stop();
    expect(await sim.exited).toBe(0);
    expect(isRunning(sim.pid)).toBe(false);
  });

  it("stops cleanly (exit 0) on SIGTERM sent the moment it says it is listening", async () => {
    // Whoever waits for that line may signal before the simulator's next line of code runs.
    for (let round = 0; round < 10; round++) {
      const sim = await spawnSimulator({ model: "qwen3-32b" });
      sim.kill("SIGTERM");
      expect({ round, code: await sim.exited }).toEqual({ round, code: 0 });
    }
  }, 60_000);

  it("exits when its stdin pipe closes, so it cannot outlive its parent", async () => {
    // A middle process spawns the simulator and is then killed; its pipe to the simulator closes.
    const script = `
      import { spawnSimulator } from ${JSON.stringify(new URL("./spawn.ts", import.meta.url).href)};
      const sim = await spawnSimulator({ model: "qwen3-32b" });
      console.log(JSON.stringify({ pid: sim.pid }));
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((resolve) =>
      parent.stdout.once("data", (d) => resolve(String(d))),
    );
    const { pid } = JSON.parse(line) as { pid: number };
    expect(isRunning(pid)).toBe(true);
    parent.kill("SIGKILL");
    const deadline = Date.now() + 5000;
    while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(isRunning(pid)).toBe(false);
  });

  it("reports start failures with the child's stderr", async () => {
    await expect(spawnSimulator({ model: "no-such-model" })).rejects.toThrow(
      /unknown model preset "no-such-model"/,
    );
  });

  it("prints usage for --help and exits 2 on bad flags", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--ttft-ms");
    const bad = await runCli(["--model", "kimi-k2.5", "--bogus"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'/);
    const badValue = await runCli(["--model", "kimi-k2.5", "--tpot-ms", "fast"]);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain("--tpot-ms must be an integer");
  });
});
