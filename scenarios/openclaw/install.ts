import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { npmInstall } from "../lib/npm.ts";
import { gonkaCacheDir } from "../lib/python.ts";

/**
 * OpenClaw, pinned in ./openclaw.package.json, installed on first use into `<cache>/openclaw-<version>`
 * (about 300 packages; a minute or so) rather than into the project's node_modules. Its engine
 * range is `>=24.16.0 <25 || >=26.1.0`: our Node 24 (24.21 through scripts/node24.cjs) fits.
 */
// Not named package.json: that would make this folder a CommonJS package for Node and tsc.
const MANIFEST = fileURLToPath(new URL("./openclaw.package.json", import.meta.url));
export const OPENCLAW_VERSION = (
  JSON.parse(readFileSync(MANIFEST, "utf8")) as { dependencies: { openclaw: string } }
).dependencies.openclaw;
const MIN_NODE = [24, 16];

function nodeFits(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return (major === 24 && minor >= MIN_NODE[1]!) || major > 25;
}

/** Returns the path of the `openclaw` executable script, installing it when missing. */
export async function ensureOpenclaw(log: (line: string) => void = (l) => console.log(l)): Promise<string> {
  if (!nodeFits()) {
    throw new Error(
      `OpenClaw ${OPENCLAW_VERSION} needs Node >= 24.16 (<25) or >= 26.1; this is ${process.version}`,
    );
  }
  const dir = join(gonkaCacheDir(), `openclaw-${OPENCLAW_VERSION}`);
  const bin = join(dir, "node_modules", "openclaw", "openclaw.mjs");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  copyFileSync(MANIFEST, join(dir, "package.json"));
  log(`openclaw: npm install openclaw@${OPENCLAW_VERSION} into ${dir} (first use; a minute or two)…`);
  const started = Date.now();
  await npmInstall(dir, "openclaw", log);
  if (!existsSync(bin)) throw new Error(`npm install finished but ${bin} is missing`);
  log(`openclaw: installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return bin;
}
