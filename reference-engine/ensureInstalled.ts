import { spawn } from "node:child_process";
import { join } from "node:path";
import { assertInstalled, REFERENCE_ENGINE_DIR, type ReferencePaths, referencePaths } from "./paths.ts";

/** A cold install downloads ~3 GB and takes 5–9 minutes on two cores (reference-engine/README.md). */
export const INSTALL_TIMEOUT_MS = 20 * 60_000;

function installed(paths: ReferencePaths): boolean {
  try {
    assertInstalled(paths);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the reference engine when it is missing, so `npm ci && npm test` (and
 * `npm start -- --backend vllm-ref`) work on a fresh machine without a separate step. The
 * install script prints its own progress and holds a lock, so test files that ask at once
 * install once. Throws, naming the install command, when the install fails.
 */
export async function ensureInstalled(env: NodeJS.ProcessEnv = process.env): Promise<ReferencePaths> {
  const paths = referencePaths(env);
  if (installed(paths)) return paths;
  process.stderr.write(
    `reference vLLM missing: running reference-engine/install.sh (first time only; several GB, minutes)\n`,
  );
  const child = spawn("bash", [join(REFERENCE_ENGINE_DIR, "install.sh")], {
    stdio: ["ignore", "inherit", "inherit"],
    env,
  });
  const timer = setTimeout(() => child.kill("SIGTERM"), INSTALL_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  if (code !== 0) {
    throw new Error(`reference-engine/install.sh failed (exit ${code}); its output is above`);
  }
  assertInstalled(paths);
  return paths;
}
