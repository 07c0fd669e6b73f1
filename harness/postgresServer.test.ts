import pg from "pg";
import { describe, expect, it } from "vitest";
import { findPostgresBinDir, startPostgresServer } from "./postgresServer.ts";

describe("startPostgresServer", () => {
  it("runs a real server on a free loopback port, creates databases, and stops (removing its folder)", async () => {
    const server = await startPostgresServer();
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    const url = await server.createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ v: string }>("SELECT current_setting($1) AS v", ["server_version"]);
    expect(rows[0]?.v).toMatch(/^\d+/);
    await client.end();
    await server.stop();
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
      console.log(JSON.stringify({ port: s.port }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        const m = /"port":(\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
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
    child.kill("SIGKILL");
    await expect.poll(probe, { timeout: 10_000, interval: 200 }).toBe(false);
  });
});
