import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * `npm install` in `dir` (a folder holding a pinned package.json), outside the project's
 * node_modules: how the OpenClaw scenario and the bench's Portkey peer get their packages on
 * first use. Logs `<label>: N packages fetched…` every 25 fetches so a long install shows life;
 * on failure the error carries the last 2,000 characters npm printed.
 */
export function npmInstall(dir: string, label: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // npm next to the running node (Node 24 through scripts/node24.cjs).
    const npm = join(process.execPath, "..", "npm");
    const child = spawn(
      existsSync(npm) ? npm : "npm",
      ["install", "--no-audit", "--no-fund", "--loglevel", "http"],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    let fetched = 0;
    let tail = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      tail = (tail + text).slice(-2000);
      const before = fetched;
      fetched += (text.match(/npm http fetch GET 200/g) ?? []).length;
      if (Math.floor(fetched / 25) > Math.floor(before / 25)) log(`${label}: ${fetched} packages fetched…`);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`npm install exited ${code}:\n${tail}`)),
    );
  });
}
