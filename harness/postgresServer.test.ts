import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { findPostgresBinDir, startPostgresServer } from "./postgresServer.ts";
import { isRunning } from "./processAlive.ts";

describe("startPostgresServer", () => {
  it("runs a real server on a free loopback port, creates databases, and stops (removing its folder)", async () => {
    // A folder a killed run left 11 minutes ago (no live server in it) is swept at the next start.
    const stale = mkdtempSync(join(tmpdir(), "gonka-pg-"));
    const old = new Date(Date.now() - 11 * 60_000);
    utimesSync(stale, old, old);
    const server = await startPostgresServer();
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(server.dir)).toBe(true);
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    const url = await server.createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ v: string }>("SELECT current_setting($1) AS v", ["server_version"]);
    expect(rows[0]?.v).toMatch(/^\d+/);
    await client.end();
    await server.stop();
    expect(existsSync(server.dir)).toBe(false);
    const after = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    await expect(after.connect()).rejects.toThrow();
    await server.stop(); // idempotent
  });

  it("says how to install PostgreSQL when the binaries are missing", async () => {
    expect(findPostgresBinDir({ PATH: "/nonexistent", PG_BINDIR: "/nonexistent" })).toSatisfy(
      (dir: string | undefined) => dir === undefined || dir.startsWith("/usr/lib/postgresql/"),
    );
    await expect(startPostgresServer({ binDir: "/nonexistent/bin" })).rejects.toThrow(
      /apt-get install postgresql/,
    );
  });

  it("the server dies with the process that started it, even on SIGKILL", async () => {
    const { spawn } = await import("node:child_process");
    const script = `
      import { startPostgresServer } from ${JSON.stringify(new URL("./postgresServer.ts", import.meta.url).pathname)};
      const s = await startPostgresServer();
      console.log(JSON.stringify({ port: s.port, dir: s.dir }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const { port, dir } = await new Promise<{ port: number; dir: string }>((resolve) => {
      child.stdout.on("data", (d: Buffer) =>
        resolve(JSON.parse(d.toString()) as { port: number; dir: string }),
      );
    });
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const probe = async () => {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 500 });
      try {
        await c.connect();
        await c.end();
        return true;
      } catch {
        return false;
      }
    };
    expect(await probe()).toBe(true);
    const postmaster = Number(readFileSync(join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    child.kill("SIGKILL");
    await expect.poll(probe, { timeout: 10_000, interval: 200 }).toBe(false);
    await expect.poll(() => isRunning(postmaster), { timeout: 10_000, interval: 100 }).toBe(false);
    rmSync(dir, { recursive: true, force: true }); // its killed parent could not
  });
});
