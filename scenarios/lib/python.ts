import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where heavy installs are cached: GONKA_CACHE_DIR, else $XDG_CACHE_HOME/gonka, else ~/.cache/gonka. */
export function gonkaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["GONKA_CACHE_DIR"]) return resolve(env["GONKA_CACHE_DIR"]);
  return join(env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "gonka");
}

function run(cmd: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        // pip's "Collecting x" / "Downloading x" lines are the progress a user wants to see.
        if (/^(Collecting|Downloading|Installing|Successfully)/.test(line.trim())) log(line.trim());
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${tail.join("\n")}`)),
    );
  });
}

/**
 * A virtualenv with a requirements file installed, created on first use under the cache
 * (`<cache>/<name>`), reinstalled only when the requirements change (their hash is kept in the
 * venv). Prints progress; returns the venv's python.
 */
export async function ensureVenv(
  name: string,
  requirements: string,
  log: (line: string) => void = (l) => console.log(l),
): Promise<string> {
  const dir = join(gonkaCacheDir(), name);
  const python = join(dir, "bin", "python");
  const hash = createHash("sha256").update(readFileSync(requirements)).digest("hex");
  const marker = join(dir, ".requirements.sha256");
  if (existsSync(python) && existsSync(marker) && readFileSync(marker, "utf8").trim() === hash) return python;
  const started = Date.now();
  mkdirSync(gonkaCacheDir(), { recursive: true });
  if (!existsSync(python)) {
    log(`${name}: creating a Python virtualenv in ${dir} (first use)…`);
    await run("python3", ["-m", "venv", dir], log);
  }
  log(`${name}: pip install -r ${requirements} (a few minutes the first time)…`);
  await run(
    python,
    ["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "-r", requirements],
    log,
  );
  writeFileSync(marker, `${hash}\n`);
  log(`${name}: ready in ${Math.round((Date.now() - started) / 1000)} s`);
  return python;
}
