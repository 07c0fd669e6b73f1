/**
 * `npm run load -- streams2k`, bounded for `npm test`: 800 concurrent streams (the command's
 * default is 2,000) held by one gateway process for ~20 s, tokens 2 s apart, started under a
 * soft open-file limit too low for them (Node raises its soft limit to the hard one by itself;
 * the runner checks the hard one). 800 rather than 2,000: opening a stream costs the gateway
 * ~2.5 ms of CPU (key, admission, metering), and every stream must be open before the first
 * ends. On the shared 2-core box, 2,000 took ~9 s just to open at load 8, and 1,000 did not all
 * open within 15 s at load 25 (other suites running); 800 in a 20 s hold leaves room for that.
 * 800 is still three times the 256 connections per replica the gateway once capped itself at
 * (the 257th stream waited inside the gateway): this test failed then.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const RUNNER = fileURLToPath(new URL("../run.ts", import.meta.url));

/** Runs the CLI under `ulimit <limitArgs>` set by a shell, as a user's low default would be. */
function underLimit(
  limit: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "sh",
      ["-c", `ulimit ${limit} && exec "$@"`, "sh", process.execPath, RUNNER, "streams2k", ...args],
      { timeout: 100_000, maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
      },
    );
  });
}

const cell = (stdout: string, measure: string) =>
  stdout
    .split("\n")
    .find((l) => l.includes(` ${measure} `))
    ?.split("│")[2]
    ?.trim();

describe("npm run load -- streams2k", () => {
  it("one gateway process holds 800 concurrent streams with no errors, and reports memory and CPU", async () => {
    const { code, stdout, stderr } = await underLimit(
      "-S -n 1024",
      "--streams",
      "800",
      "--hold",
      "20",
      "--tpot-ms",
      "2000",
      "--ramp",
      "2",
    );
    // Started with a soft limit of 1,024, below the ~3,000 sockets the gateway holds: Node lifts it.
    expect(stderr).toMatch(/open-file limit (\d+) \(hard \1\): enough/);
    expect(stdout, stderr).toContain("one gateway process held 800 concurrent streams with no errors");
    expect(code).toBe(0);
    expect(cell(stdout, "open at once (max)")).toBe("800");
    expect(cell(stdout, "errors")).toBe("0");
    // 10 tokens per stream: 10 content events, the role and finish events, and [DONE].
    expect(Number(cell(stdout, "frames forwarded"))).toBeGreaterThanOrEqual(8_000);
    expect(cell(stdout, "RSS per stream")).toMatch(/^-?\d+\.\d KiB$/);
    expect(cell(stdout, "gateway CPU per frame")).toMatch(/^\d+\.\d µs$/);
  }, 100_000);

  it("says how to raise a hard open-file limit that is too low, without starting anything", async () => {
    const { code, stderr } = await underLimit("-n 512", "--streams", "2000");
    expect(code).toBe(2);
    expect(stderr).toContain("this run needs 5024 open files; the limit is 512 (hard 512)");
    expect(stderr).not.toContain("opened over");
    expect(stderr).toContain("ulimit -Hn 5024");
  });
});
