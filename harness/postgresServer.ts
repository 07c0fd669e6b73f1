/**
 * A real PostgreSQL server for tests and benchmarks: `initdb` in a temporary folder, the
 * server on a free 127.0.0.1 port (its Unix socket inside that folder), stopped by stop(),
 * on this process's exit, and by the kernel when this process dies (parent-death signal).
 * A folder left behind by a killed test run is removed by a later start (after 10 min).
 *
 * Binaries come from Debian's `postgresql` package (`/usr/lib/postgresql/<major>/bin`), or
 * `PG_BINDIR`, or `initdb` on PATH. PostgreSQL refuses to run as root, and CI runs as root:
 * then initdb and the server run as the unprivileged `postgres` user the package creates
 * (through setpriv), and the temporary folder is made theirs.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "./redisServer.ts";

export const POSTGRES_INSTALL_HINT =
  "PostgreSQL's server binaries (initdb, postgres) were not found: install them with " +
  "`apt-get install postgresql` (Debian/Ubuntu), or set PG_BINDIR to the folder holding them";

export interface PostgresServer {
  /** The temporary folder (data directory and socket), removed by stop(). */
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  /** A new empty database on this server; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Fast shutdown (SIGINT), SIGKILL after 5 s; removes the folder. Idempotent. */
  stop(): Promise<void>;
}

export interface PostgresServerOptions {
  /** Folder holding initdb and postgres; found automatically when absent. */
  binDir?: string;
  startTimeoutMs?: number;
}

/** The newest Debian-packaged server, PG_BINDIR, or initdb on PATH. */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates: string[] = [];
  if (env["PG_BINDIR"]) candidates.push(env["PG_BINDIR"]);
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const majors = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((v) => path.join(debian, v, "bin")));
  }
  for (const dir of (env["PATH"] ?? "").split(path.delimiter)) if (dir) candidates.push(dir);
  return candidates.find(
    (dir) => existsSync(path.join(dir, "initdb")) && existsSync(path.join(dir, "postgres")),
  );
}

/** Runs as `postgres` when we are root (the server refuses root), as ourselves otherwise. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      "running as root, and PostgreSQL refuses root: an unprivileged `postgres` user is needed " +
        "(the `postgresql` package creates it: apt-get install postgresql)",
    );
  }
}

/**
 * setpriv drops to the unprivileged user and sets the parent-death signal, then execs the
 * binary (same pid): if this process dies, even by SIGKILL, the kernel sends the server
 * SIGQUIT (immediate shutdown), so no test run leaves a postgres behind.
 */
function command(user: { uid: number; gid: number } | undefined, binary: string, args: string[]) {
  const ids = user ? ["--reuid", String(user.uid), "--regid", String(user.gid), "--clear-groups"] : [];
  return { file: "setpriv", args: [...ids, "--pdeathsig", "SIGQUIT", binary, ...args] };
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function stopOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of live) c.kill("SIGQUIT");
    });
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${args.join(" ")} failed (${code}):\n${output}`)),
    );
  });
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 500 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const FOLDER_PREFIX = "gonka-pg-";

/**
 * Removes folders left by servers whose test process was killed (the server died with it,
 * but nobody was left to delete ~40 MB): older than ten minutes, with no live postmaster.
 */
function sweepStaleFolders(): void {
  const tmp = os.tmpdir();
  for (const name of readdirSync(tmp)) {
    if (!name.startsWith(FOLDER_PREFIX)) continue;
    const dir = path.join(tmp, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs < 10 * 60_000) continue;
      const pid = Number(readFileSync(path.join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
      if (pid > 0 && isAlive(pid)) continue;
    } catch {
      // No pid file: the server is not running there.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function startPostgresServer(opts: PostgresServerOptions = {}): Promise<PostgresServer> {
  sweepStaleFolders();
  const binDir = opts.binDir ?? findPostgresBinDir();
  if (!binDir || !existsSync(path.join(binDir, "initdb"))) throw new Error(POSTGRES_INSTALL_HINT);
  const user = runAs();
  const dir = mkdtempSync(path.join(os.tmpdir(), FOLDER_PREFIX));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, "data");
  const env = { ...process.env, LC_ALL: "C", LANG: "C" };
  try {
    const initdb = command(user, path.join(binDir, "initdb"), [
      ...["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
    ]);
    await run(initdb.file, initdb.args, env);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  let port = 0;
  let child: ChildProcess | undefined;
  let output = "";
  // A free port can be taken between probing and binding: try a few.
  for (let attempt = 1; attempt <= 3 && !child; attempt++) {
    port = await freePort();
    // fsync off: test data need not survive a power cut, and it makes commits cheap on a shared VM.
    const server = command(user, path.join(binDir, "postgres"), [
      ...["-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", dir],
      ...["-c", "fsync=off", "-c", "max_connections=200", "-c", "log_min_messages=warning"],
    ]);
    const started = spawn(server.file, server.args, { env, stdio: ["ignore", "pipe", "pipe"] });
    stopOnExit(started);
    output = "";
    const collect = (d: Buffer) => {
      output = (output + d.toString()).slice(-4_000);
    };
    started.stdout?.on("data", collect);
    started.stderr?.on("data", collect);
    let exited = false;
    started.once("exit", () => (exited = true));
    started.once("error", () => (exited = true));
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !exited) {
      if (await canConnect(url)) {
        child = started;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!child) {
      started.kill("SIGKILL");
      if (!exited || !/already in use|could not bind/.test(output)) break;
    }
  }
  if (!child) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`postgres did not accept connections on 127.0.0.1:${port}:\n${output}`);
  }

  const server = child;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let databases = 0;
  let stopped = false;
  return {
    dir,
    url,
    port,
    async createDatabase(name = `test_${process.pid}_${++databases}`) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
        server.kill("SIGINT"); // fast shutdown: disconnects clients, no checkpoint wait
        const timer = setTimeout(() => server.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
