import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { until } from "../gateway/test/poll.ts";
import { isRunning } from "./processAlive.ts";

describe("isRunning", () => {
  it("is true for a live process and false once it has exited, also as an orphan nobody reaps", async () => {
    // `sh` starts `sleep` and is killed: `sleep` becomes PID 1's child. Where PID 1 does not
    // reap (this CI machine), it then stays a zombie that kill(pid, 0) still reaches.
    const sh = spawn("sh", ["-c", "sleep 0.3 & echo $!; wait"], { stdio: ["ignore", "pipe", "inherit"] });
    const pid = Number(await new Promise<string>((r) => sh.stdout.once("data", (d) => r(String(d)))));
    expect(isRunning(pid)).toBe(true);
    sh.kill("SIGKILL");
    await until(() => !isRunning(pid), "orphaned sleep seen as exited", { timeoutMs: 5000 });
  });

  it("is false for a pid no process has", () => {
    expect(isRunning(2 ** 22 + 1)).toBe(false);
  });
});
