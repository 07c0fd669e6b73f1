import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { spawnNode } from "./childProcess.ts";
import { LOCAL_MODELS, type LocalStackInfo } from "./localStack.ts";
import { startPostgresServer } from "./postgresServer.ts";

const dataDir = mkdtempSync(join(tmpdir(), "gonka-local-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("npm start (local stack)", () => {
  it("serves every catalog model through the gateway, writes local-stack.json and stops all children on SIGTERM", async () => {
    const stack = await spawnNode({
      name: "local stack",
      script: fileURLToPath(new URL("./localStack.ts", import.meta.url)),
      env: {
        ...process.env,
        GONKA_DATA_DIR: dataDir,
        GONKA_PORT: "0",
        GONKA_ADMIN_KEY: "admin-test-0123456789abcdefghij",
      },
      ready: (line) => (line.includes("Ctrl-C stops everything") ? true : undefined),
      timeoutMs: 60_000,
    });
    const info = JSON.parse(readFileSync(join(dataDir, "local-stack.json"), "utf8")) as LocalStackInfo;
    expect(info.adminKey).toBe("admin-test-0123456789abcdefghij");
    expect(info.apiKey).toMatch(/^gk-/);
    expect(info.backends).toHaveLength(LOCAL_MODELS.reduce((n, m) => n + m.replicas, 0));
    expect(info.backends.filter((b) => b.model === "kimi-k2.5")).toHaveLength(2);
    expect(info.models).toContain("kimi-k2.5");
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (info.apiKey) headers["authorization"] = `Bearer ${info.apiKey}`;
    const res = await fetch(`${info.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: "kimi-k2.5",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 5,
      }),
    });
    expect(res.status).toBe(200);
    // Memory is on in the local stack (the catalog's embedding model runs): the README's curl flow.
    const put = await fetch(`${info.gatewayUrl}/v1/memory/notes/fav-color`, {
      method: "PUT",
      headers,
      body: JSON.stringify({ value: "My favourite colour is blue", metadata: { topic: "preferences" } }),
    });
    expect(put.status).toBe(201);
    const found = await fetch(`${info.gatewayUrl}/v1/memory/notes/search`, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: "what colour do I like?", filter: { topic: { $in: ["preferences"] } } }),
    });
    expect(((await found.json()) as { data: Array<{ key: string }> }).data[0]?.key).toBe("fav-color");
    const ready = await fetch(`${info.gatewayUrl}/readyz`);
    expect(ready.status).toBe(200);
    // Operational routes live on their own listener, which local-stack.json names.
    expect(info.opsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.adminUrl).toBe(info.opsUrl);
    expect(info.opsUrl).not.toBe(info.gatewayUrl);
    expect((await fetch(`${info.opsUrl}/metrics`)).status).toBe(200);
    expect((await fetch(`${info.gatewayUrl}/metrics`)).status).toBe(404);
    const keys = await fetch(`${info.adminUrl}/admin/keys`, {
      headers: { authorization: `Bearer ${info.adminKey}` },
    });
    expect(keys.status).toBe(200);

    await stack.stop();
    expect(await stack.exited).toBe(0);
    expect(existsSync(join(dataDir, "local-stack.json"))).toBe(false);
    await expect(fetch(`${info.gatewayUrl}/healthz`)).rejects.toThrow();
    for (const b of info.backends) await expect(fetch(`${b.url}/health`)).rejects.toThrow();
  }, 90_000);

  it("keeps keys and usage in Postgres when GONKA_DATABASE_URL is set", async () => {
    const pgServer = await startPostgresServer();
    const pgDataDir = mkdtempSync(join(tmpdir(), "gonka-local-pg-"));
    const client = new pg.Client({ connectionString: pgServer.url });
    try {
      const stack = await spawnNode({
        name: "local stack on Postgres",
        script: fileURLToPath(new URL("./localStack.ts", import.meta.url)),
        env: { ...process.env, GONKA_DATA_DIR: pgDataDir, GONKA_PORT: "0", GONKA_DATABASE_URL: pgServer.url },
        ready: (line) => (line.includes("Ctrl-C stops everything") ? true : undefined),
        timeoutMs: 60_000,
      });
      const info = JSON.parse(readFileSync(join(pgDataDir, "local-stack.json"), "utf8")) as LocalStackInfo;
      const res = await fetch(`${info.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${info.apiKey}` },
        body: JSON.stringify({
          model: "kimi-k2.5",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 5,
        }),
      });
      expect(res.status).toBe(200);
      // Stopping drains the usage journal into the database.
      await stack.stop();
      expect(await stack.exited).toBe(0);
      await client.connect();
      const keys = await client.query("SELECT count(*)::int AS n FROM api_keys");
      expect(keys.rows[0].n).toBe(1);
      const usage = await client.query("SELECT count(*)::int AS n FROM usage_rows");
      expect(usage.rows[0].n).toBe(1);
      // Nothing went to SQLite instead.
      expect(existsSync(join(pgDataDir, "gateway.sqlite"))).toBe(false);
    } finally {
      await client.end().catch(() => {});
      await pgServer.stop();
      rmSync(pgDataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
