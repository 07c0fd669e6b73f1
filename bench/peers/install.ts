/**
 * The peers `npm run bench` compares against, installed from the package registries on
 * first use into `<cache>/peers/` (GONKA_CACHE_DIR, else ~/.cache/gonka), pinned, never into
 * the project's node_modules: Portkey's OSS gateway (npm) and, where python3 exists, the
 * LiteLLM proxy (PyPI, in a virtualenv). Idempotent: a finished install leaves a stamp naming
 * its pins, and a lock directory keeps two runs from installing into the same folder at once.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { npmInstall } from "../../scenarios/lib/npm.ts";
import { ensureVenv, gonkaCacheDir } from "../../scenarios/lib/python.ts";

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
// Not named package.json: that would make this folder a package of its own for Node and tsc.
const PORTKEY_MANIFEST = here("./portkey.package.json");
const LITELLM_REQUIREMENTS = here("./litellm.requirements.txt");

export const PORTKEY_VERSION = (
  JSON.parse(readFileSync(PORTKEY_MANIFEST, "utf8")) as { dependencies: Record<string, string> }
).dependencies["@portkey-ai/gateway"]!;
export const LITELLM_VERSION = /==([\w.]+)/.exec(readFileSync(LITELLM_REQUIREMENTS, "utf8"))![1]!;

/** LiteLLM 1.82.7 and 1.82.8 were published compromised on PyPI: refuse them whatever the pin says. */
const COMPROMISED_LITELLM = new Set(["1.82.7", "1.82.8"]);

export function assertSafeLitellm(version: string): void {
  if (COMPROMISED_LITELLM.has(version)) {
    throw new Error(`LiteLLM ${version} was a compromised release; pin another version`);
  }
}

export const peersDir = (): string => join(gonkaCacheDir(), "peers");

/**
 * Runs `install` under `<dir>.lock` (a directory: mkdir is atomic). A lock older than 20 minutes
 * is taken as left by a killed run and removed; otherwise this waits, saying so.
 */
export async function withLock<T>(
  dir: string,
  log: (l: string) => void,
  install: () => Promise<T>,
): Promise<T> {
  const lock = `${dir}.lock`;
  mkdirSync(peersDir(), { recursive: true });
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (existsSync(lock) ? statSync(lock).mtimeMs : Date.now());
      if (age > 20 * 60_000) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (waited % 10 === 0) log(`${lock}: another install is running; waiting…`);
      await sleep(1_000);
    }
  }
  try {
    return await install();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Portkey's server script (`build/start-server.js`), installed when missing. */
export async function ensurePortkey(log: (l: string) => void = (l) => console.log(l)): Promise<string> {
  const dir = join(peersDir(), `portkey-${PORTKEY_VERSION}`);
  const main = join(dir, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  const stamp = join(dir, ".installed");
  const manifest = readFileSync(PORTKEY_MANIFEST, "utf8");
  const ready = () => existsSync(main) && existsSync(stamp) && readFileSync(stamp, "utf8") === manifest;
  if (ready()) return main;
  return withLock(dir, log, async () => {
    if (ready()) return main;
    mkdirSync(dir, { recursive: true });
    copyFileSync(PORTKEY_MANIFEST, join(dir, "package.json"));
    log(`portkey: npm install @portkey-ai/gateway@${PORTKEY_VERSION} into ${dir} (first use)…`);
    const started = Date.now();
    await npmInstall(dir, "portkey", log);
    if (!existsSync(main)) throw new Error(`npm install finished but ${main} is missing`);
    writeFileSync(stamp, manifest);
    log(`portkey: installed in ${Math.round((Date.now() - started) / 1000)} s`);
    return main;
  });
}

/** The `litellm` executable of a virtualenv with the pinned proxy, installed when missing. */
export async function ensureLitellm(log: (l: string) => void = (l) => console.log(l)): Promise<string> {
  assertSafeLitellm(LITELLM_VERSION);
  if (spawnSync("python3", ["--version"]).status !== 0) throw new Error("python3 is not on PATH");
  const name = `peers/litellm-${LITELLM_VERSION}`;
  const dir = join(gonkaCacheDir(), name);
  return withLock(dir, log, async () => {
    const python = await ensureVenv(name, LITELLM_REQUIREMENTS, (l) => log(`litellm: ${l}`));
    const bin = join(python, "..", "litellm");
    if (!existsSync(bin)) throw new Error(`pip install finished but ${bin} is missing`);
    return bin;
  });
}

if (import.meta.main) {
  for (const [name, ensure] of [
    ["portkey", ensurePortkey],
    ["litellm", ensureLitellm],
  ] as const) {
    const t0 = Date.now();
    try {
      console.log(`${name}: ready at ${await ensure()} (${Math.round((Date.now() - t0) / 1000)} s)`);
    } catch (err) {
      console.error(`${name}: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  }
}
