/**
 * A real `redis-server` for tests and the local stack: loopback only, a free port, no
 * persistence, and killed when the process that started it exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Graceful shutdown (SIGTERM, then SIGKILL after 2 s); resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL now, like a crashed Redis; clients see the connection drop. */
  kill(): void;
  /** Starts a fresh (empty) server on the same port, e.g. after kill(); resolves once it answers PING. */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /** Port to use; a free one is picked when absent. */
  port?: number;
  /** Path of the binary; default `redis-server` on PATH. */
  binary?: string;
  startTimeoutMs?: number;
}

// Processes still running, killed on exit so a failed test run leaves no redis-server behind.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the port of a probe socket"));
      });
    });
  });
}

/** One PING over a raw socket; true when the server answers +PONG within timeoutMs. */
export async function pingRedis(port: number, timeoutMs = 500): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => socket.write("*1\r\n$4\r\nPING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
  });
}

async function launch(binary: string, port: number, timeoutMs: number): Promise<ChildProcess> {
  const args = [
    ...["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes"],
    ...["--save", "", "--appendonly", "no", "--loglevel", "notice"],
  ];
  const child = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"] });
  killOnExit(child);
  let output = "";
  // Another server may already answer on this port, so PING alone does not prove that ours
  // is up: wait for our own process to log that it accepts connections, then PING.
  let accepting = false;
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
    if (output.includes("Ready to accept connections")) accepting = true;
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  const failed = new Promise<Error>((resolve) => {
    child.once("error", (err: NodeJS.ErrnoException) => {
      resolve(
        err.code === "ENOENT"
          ? new Error(
              `${binary} is not installed or not on PATH; install it with apt-get install redis-server`,
            )
          : err,
      );
    });
    child.once("exit", (code, signal) => {
      resolve(
        new Error(`redis-server exited (${signal ?? code}) before answering PING on ${port}:\n${output}`),
      );
    });
  });
  let failure: Error | undefined;
  void failed.then((err) => {
    failure = err;
  });

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    if (accepting && (await pingRedis(port, 200))) return child;
    await Promise.race([new Promise((r) => setTimeout(r, 20)), failed]);
  }
  child.kill("SIGKILL");
  throw (
    failure ??
    new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms:\n${output}`)
  );
}

async function waitForExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = opts.binary ?? "redis-server";
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  let port = opts.port ?? (await freePort());
  let child: ChildProcess;
  // A picked port can be taken between probing and binding; try a few before giving up.
  for (let attempt = 1; ; attempt++) {
    try {
      child = await launch(binary, port, timeoutMs);
      break;
    } catch (err) {
      const retryable = opts.port === undefined && attempt < 3 && /exited/.test(String(err));
      if (!retryable) throw err;
      port = await freePort();
    }
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await waitForExit(child, 2_000);
    },
    kill() {
      child.kill("SIGKILL");
    },
    async restart() {
      await waitForExit(child, 2_000);
      child = await launch(binary, port, timeoutMs);
    },
  };
}
