/**
 * The Node 24 launcher, run for real by an older Node (the machine's /usr/bin/node here and in CI):
 * it fetches Node 24 into the cache folder (once; later runs reuse it), re-executes the command
 * under it with the same args, env, stdin, exit code and signals, rebuilds a native addon whose
 * build does not load, and stops at once with the command to run when the registry is unreachable.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { LocalStackInfo } from "../harness/localStack.ts";
import { isRunning } from "../harness/processAlive.ts";

const ROOT = resolve(import.meta.dirname, "..");
const LAUNCHER = join(ROOT, "scripts", "node24.cjs");
const FREEZE_AFTER_BANNER = join(ROOT, "scripts", "freezeAfterBanner.mjs");
const PINNED = /const NODE_VERSION = "(24\.\d+\.\d+)"/.exec(readFileSync(LAUNCHER, "utf8"))![1]!;
/** Long enough for the first fetch of Node 24 (~30 MB) on a slow link; later runs take < 1 s. */
const FIRST_RUN_MS = 240_000;

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/**
 * A Node older than 24 to start the launcher with. Missing is a failure, not a skip: without one
 * this file would prove nothing, and CI images (like this one) ship Node 20 at /usr/bin/node.
 */
function olderNode(): string {
  const candidates = [process.env["GONKA_OLD_NODE"], "/usr/bin/node", "/usr/local/bin/node"];
  const tried: string[] = [];
  for (const candidate of candidates) {
    if (!candidate) continue;
    const r = spawnSync(candidate, ["-p", "process.versions.node"], { encoding: "utf8" });
    const version = r.status === 0 ? r.stdout.trim() : "absent";
    if (r.status === 0 && Number(version.split(".")[0]) < 24) return candidate;
    tried.push(`${candidate}: ${version}`);
  }
  throw new Error(
    `No Node older than 24 to prove the launcher with (${tried.join(", ")}). ` +
      "Install one (apt-get install nodejs) or set GONKA_OLD_NODE=/path/to/old/node.",
  );
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function collect(child: ChildProcess, started = Date.now()): Promise<Run> {
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((done, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => done({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
}

function launch(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; launcher?: string } = {}) {
  const child = spawn(olderNode(), [opts.launcher ?? LAUNCHER, ...args], {
    cwd: ROOT,
    env: opts.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin!.end(opts.input ?? "");
  return child;
}

/** Resolves once `pid` is stopped (SIGSTOP): state T in /proc/<pid>/stat (Linux, like CI). */
async function stopped(pid: number): Promise<void> {
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "T") return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves with the first stdout line that matches. */
function lineMatching(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((done, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (pattern.test(line)) done(line);
    });
    child.once("exit", () => reject(new Error(`exited before printing ${pattern}`)));
  });
}

describe("scripts/node24.cjs started by an older Node", () => {
  it(
    "runs the command under the pinned Node 24 with the same args, env, stdin and exit code",
    async () => {
      const script =
        'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{' +
        "const e=process.env;" +
        "console.log(JSON.stringify({v:process.version,argv:process.argv.slice(1),probe:e.GONKA_PROBE,s," +
        'nodedir:e.npm_config_nodedir,pathHead:e.PATH.split(":")[0]}));' +
        "process.exitCode=7})";
      const run = await collect(
        launch(["-e", script, "a", "b c"], {
          env: { ...process.env, GONKA_PROBE: "kept" },
          input: "from stdin",
        }),
      );
      expect(run.code, run.stderr).toBe(7);
      const seen = JSON.parse(run.stdout);
      expect(seen).toMatchObject({ v: `v${PINNED}`, argv: ["a", "b c"], probe: "kept", s: "from stdin" });
      // Native builds (npm rebuild, node-gyp) see Node 24's headers, and `node` on PATH is Node 24.
      expect(readFileSync(join(seen.nodedir, "include", "node", "node_version.h"), "utf8")).toMatch(
        new RegExp(`#define NODE_MAJOR_VERSION ${PINNED.split(".")[0]}\\b`),
      );
      expect(spawnSync(join(seen.pathHead, "node"), ["--version"], { encoding: "utf8" }).stdout.trim()).toBe(
        `v${PINNED}`,
      );
      // Once cached, starting through the launcher costs well under a second.
      const again = await collect(launch(["-e", "console.log(process.version)"]));
      expect(again.stdout.trim()).toBe(`v${PINNED}`);
      expect(again.stderr).toBe("");
      expect(again.ms).toBeLessThan(5_000);
    },
    FIRST_RUN_MS,
  );

  it("passes SIGTERM on to the command and exits with the command's code", async () => {
    const child = launch([
      "-e",
      'process.on("SIGTERM",()=>{console.log("child got SIGTERM");process.exit(5)});' +
        'console.log("ready");setInterval(()=>{},1000)',
    ]);
    const done = collect(child);
    await lineMatching(child, /^ready$/);
    child.kill("SIGTERM");
    const run = await done;
    expect(run.stdout).toContain("child got SIGTERM");
    expect(run.code).toBe(5);
  });

  it("dies by the signal that killed the command, leaving no process behind", async () => {
    const child = launch(["-e", 'console.log("pid", process.pid);setInterval(()=>{},1000)']);
    const done = collect(child);
    const pid = Number((await lineMatching(child, /^pid \d+$/)).split(" ")[1]);
    expect(isRunning(pid)).toBe(true);
    child.kill("SIGINT");
    const run = await done;
    expect(run.signal).toBe("SIGINT");
    expect(isRunning(pid)).toBe(false);
  });

  it("exits with the command's code when signals keep coming while the command ends", async () => {
    // After a Ctrl-C the command stops and exits 0 while more SIGINTs may reach the launcher: npm
    // passes on the one it got (late on a busy machine), the user presses Ctrl-C again. Sent without
    // pause until the launcher is gone, they land in its last moments in every round.
    for (let round = 0; round < 10; round++) {
      const child = launch([
        "-e",
        'process.on("SIGINT",()=>setTimeout(()=>process.exit(0),20));console.log("ready");setInterval(()=>{},1000)',
      ]);
      const done = collect(child);
      await lineMatching(child, /^ready$/);
      let ended = false;
      void done.then(() => (ended = true));
      const keepSending = () => {
        if (ended || child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGINT");
        setImmediate(keepSending);
      };
      keepSending();
      const run = await done;
      expect({ round, code: run.code, signal: run.signal }).toEqual({ round, code: 0, signal: null });
    }
  }, 60_000);

  // `kill <pid of npm start>`: npm passes SIGTERM to its script, the launcher to the stack.
  // Ctrl-C: the terminal sends SIGINT to the whole foreground process group (npm, launcher, stack).
  // On a busy machine the stack may not run again between writing its banner and its next line of
  // code while the reader of the banner presses Ctrl-C: `frozen` makes that happen every time (the
  // stack stops itself as its banner write returns; SIGCONT after the Ctrl-C).
  it.each([
    { how: "SIGTERM to npm", signal: "SIGTERM" as const, group: false, frozen: false },
    { how: "Ctrl-C", signal: "SIGINT" as const, group: true, frozen: false },
    {
      how: "Ctrl-C while the stack waits for a CPU right after its banner",
      signal: "SIGINT" as const,
      group: true,
      frozen: true,
    },
  ])(
    "`npm start` with the older Node first on PATH runs the local stack; $how stops every child",
    async ({ signal, group, frozen }) => {
      // PATH as on a machine whose own Node is older: `node` and `npm` are the old ones.
      const old = olderNode();
      const shim = tempDir("gonka-node24-path-");
      symlinkSync(old, join(shim, "node"));
      symlinkSync(join(dirname(old), "npm"), join(shim, "npm"));
      const dataDir = tempDir("gonka-node24-stack-");
      const npm = spawn(join(shim, "npm"), ["start"], {
        cwd: ROOT,
        env: {
          ...process.env,
          PATH: `${shim}${delimiter}${process.env["PATH"]}`,
          GONKA_DATA_DIR: dataDir,
          GONKA_PORT: "0",
          ...(frozen
            ? {
                NODE_OPTIONS: [process.env["NODE_OPTIONS"], `--import=${pathToFileURL(FREEZE_AFTER_BANNER)}`]
                  .filter(Boolean)
                  .join(" "),
              }
            : {}),
        },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own process group, as a terminal's foreground job has.
        detached: group,
      });
      const done = collect(npm);
      const exited = new Promise((resolveExit) => npm.once("exit", resolveExit));
      await lineMatching(npm, /Ctrl-C stops everything/);
      const info = JSON.parse(readFileSync(join(dataDir, "local-stack.json"), "utf8")) as LocalStackInfo;
      if (frozen) await stopped(info.pid);
      expect((await fetch(`${info.gatewayUrl}/healthz`)).status).toBe(200);
      if (group) process.kill(-npm.pid!, signal);
      else npm.kill(signal);
      if (frozen) process.kill(info.pid, "SIGCONT");
      // npm exits once its script has: by then nothing of the stack may be left answering.
      await exited;
      await expect(fetch(`${info.gatewayUrl}/healthz`)).rejects.toThrow();
      for (const b of info.backends) await expect(fetch(`${b.url}/health`)).rejects.toThrow();
      const run = await done;
      // stderr and the exit in the message: a stack that ends without its own stop line died another way.
      expect(run.stdout, `exit ${run.code ?? run.signal}; stderr: ${run.stderr}`).toContain(
        `${signal}: stopping the local stack`,
      );
      // A clean stop is a clean exit: npm ends with the stack's 0, not killed by the signal.
      expect({ code: run.code, signal: run.signal }, run.stderr).toEqual({ code: 0, signal: null });
    },
    90_000,
  );

  it(
    "rebuilds a native addon whose installed build does not load under Node 24, once",
    async () => {
      // A project of its own, so the repository's node_modules stay untouched.
      const project = tempDir("gonka-node24-addon-");
      mkdirSync(join(project, "scripts"));
      copyFileSync(LAUNCHER, join(project, "scripts", "node24.cjs"));
      const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({
          name: "addon-probe",
          private: true,
          dependencies: { "better-sqlite3": pkg.dependencies["better-sqlite3"] },
          allowScripts: { "better-sqlite3": true },
        }),
      );
      for (const dep of ["better-sqlite3", "node-addon-api"]) {
        cpSync(join(ROOT, "node_modules", dep), join(project, "node_modules", dep), {
          recursive: true,
          filter: (src) => !src.includes(`${dep}/build`),
        });
      }
      // npm ci's record of the tree: npm rebuild runs only install scripts it knows of.
      const lock = JSON.parse(readFileSync(join(ROOT, "node_modules", ".package-lock.json"), "utf8"));
      const keep = ["node_modules/better-sqlite3", "node_modules/node-addon-api"];
      writeFileSync(
        join(project, "node_modules", ".package-lock.json"),
        JSON.stringify({ ...lock, packages: Object.fromEntries(keep.map((k) => [k, lock.packages[k]])) }),
      );
      // What a build for the wrong Node looks like to the loader: a .node file it cannot load.
      const built = join(project, "node_modules", "better-sqlite3", "build", "Release");
      mkdirSync(built, { recursive: true });
      writeFileSync(join(built, "better_sqlite3.node"), "built for another Node");
      const useSqlite =
        "const D=require('better-sqlite3');const d=new D(':memory:');" +
        "console.log(d.prepare('select 40+2 as x').get().x);d.close()";
      const launcher = join(project, "scripts", "node24.cjs");

      const first = await collect(launch(["-e", useSqlite], { launcher }));
      expect(first.stderr).toContain(`better-sqlite3 does not load under Node ${PINNED}`);
      expect(first.stderr).toContain(`better-sqlite3 rebuilt for Node ${PINNED}`);
      expect(first.stdout.trim()).toBe("42");
      expect(first.code).toBe(0);

      const second = await collect(launch(["-e", useSqlite], { launcher }));
      expect(second.stderr).toBe("");
      expect(second.stdout.trim()).toBe("42");
    },
    FIRST_RUN_MS,
  );

  it("stops at once, saying what to run, when Node 24 cannot be fetched", async () => {
    const cache = tempDir("gonka-node24-cache-");
    const run = await collect(
      launch(["-e", "console.log('never runs')"], {
        // Nothing listens on port 1 of loopback: the registry is unreachable.
        env: { ...process.env, GONKA_CACHE_DIR: cache, npm_config_registry: "http://127.0.0.1:1/" },
      }),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("ECONNREFUSED");
    expect(run.stderr).toContain(
      `npm install --global --prefix "${join(cache, `node-v${PINNED}`)}" node@${PINNED}`,
    );
    expect(run.ms).toBeLessThan(30_000);
    // No half-installed Node is left for the next run to trust.
    expect(readdirSync(cache)).toEqual([]);
  }, 60_000);
});
