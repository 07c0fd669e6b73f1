/**
 * `npm run usage` against real gateway and simulator processes: the admin view and the
 * key's own view, the watch loop (refreshes, then Ctrl-C ends it with 0), and the
 * mistakes a user makes (clear message, exit 2).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post } from "../gateway/test/fixtures.ts";
import { until } from "../gateway/test/poll.ts";
import { ADMIN_KEY, type ProcessFixture, startProcessFixture } from "../gateway/test/processFixture.ts";
import type { SpawnedGateway } from "../harness/spawnGateway.ts";
import { renderUsageTable } from "./usageTable.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
let fx: ProcessFixture;
let gw: SpawnedGateway;
let key: { id: string; secret: string };

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, GONKA_ADMIN_KEY: "", GONKA_API_KEY: "", GONKA_TARGET: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { stdout: "", stderr: "" };
  child.stdout!.on("data", (d: Buffer) => {
    out.stdout += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    out.stderr += d.toString();
  });
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, out, closed };
}

async function chat(session: string) {
  const res = await post(
    `${gw.url}/v1/chat/completions`,
    { model: "qwen3-32b", max_tokens: 8, messages: [{ role: "user", content: "hi" }] },
    { authorization: `Bearer ${key.secret}`, "x-session-id": session },
  );
  expect(res.status).toBe(200);
  await res.text();
}

async function importedRequests(): Promise<number> {
  const res = await fetch(`${gw.opsUrl}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  return ((await res.json()) as { data: { requests: number }[] }).data[0]?.requests ?? 0;
}

beforeAll(async () => {
  fx = await startProcessFixture({ preset: "qwen3-32b" });
  gw = await fx.startGateway();
  key = await fx.createKey(gw, { name: "viewer", tier: "standard" });
  await chat("agent-1");
  await chat("agent-1");
  await until(async () => (await importedRequests()) === 2, "two usage rows imported");
});
afterAll(() => fx?.close());

const admin = () => ["--base-url", gw.url, "--admin-key", ADMIN_KEY, "--admin-url", gw.opsUrl];

describe("npm run usage", () => {
  it("prints one session's table from the admin API and exits 0", async () => {
    const { out, closed } = run([...admin(), "--session", "agent-1"]);
    expect(await closed, out.stderr).toBe(0);
    expect(out.stdout).toContain("usage · url · session agent-1");
    const row = out.stdout.split("\n").find((l) => l.includes("qwen3-32b"));
    expect(row, out.stdout).toBeDefined();
    // requests column, right after the model.
    expect(row!.split("│").map((c) => c.trim())[2]).toBe("2");
  });

  it("reads /v1/usage with only an API key, and refuses --key without the admin key", async () => {
    const own = run(["--base-url", gw.url, "--api-key", key.secret, "--group-by", "session"]);
    expect(await own.closed, own.out.stderr).toBe(0);
    expect(own.out.stdout).toContain("this API key");
    expect(own.out.stdout).toContain("agent-1");
    const refused = run(["--base-url", gw.url, "--api-key", key.secret, "--key", key.id]);
    expect(await refused.closed).toBe(2);
    expect(refused.out.stderr).toContain("--key needs the admin key");
  });

  it("--watch refreshes with new requests until Ctrl-C, then exits 0", async () => {
    const { child, out, closed } = run([...admin(), "--session", "agent-1", "--watch", "--interval", "0.2"]);
    await until(() => (out.stdout.match(/usage · url/g) ?? []).length >= 2, "two frames", {
      timeoutMs: 15_000,
    });
    await chat("agent-1");
    await until(() => /qwen3-32b\s*│\s*3\s*│/.test(out.stdout), "a frame with the third request", {
      timeoutMs: 15_000,
    });
    (child as ChildProcess).kill("SIGINT");
    expect(await closed, out.stderr).toBe(0);
  });

  it("says so when the local stack is not running, and explains bad flags", async () => {
    const empty = mkdtempSync(join(tmpdir(), "gonka-usage-"));
    try {
      const local = run(["--target", "local"], { GONKA_DATA_DIR: empty });
      expect(await local.closed).toBe(1);
      expect(local.out.stderr).toContain("the local stack is not running");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const since = run([...admin(), "--since", "yesterday"]);
    expect(await since.closed).toBe(2);
    expect(since.out.stderr).toContain("--since yesterday");
    const unknown = run([...admin(), "--colour"]);
    expect(await unknown.closed).toBe(2);
    expect(unknown.out.stderr).toContain("--colour");
  });
});

describe("the table", () => {
  const row = (model: string, requests: number) => ({
    model,
    requests,
    prompt_tokens: 1_200 * requests,
    completion_tokens: 30,
    reasoning_tokens: 5,
    cached_tokens: 0,
    total_tokens: 1_230,
    errors: 0,
    aborted: 1,
    latency_ms: { p50: 120.4, p95: 300, p99: 310 },
    ttft_ms: { p50: 4.25, p95: null, p99: null },
  });
  it("shows counts with separators, percentiles, aborts, and a total row only when there are several rows", () => {
    const text = renderUsageTable(["model"], [row("a", 1), row("b", 2)], row("", 3));
    expect(text).toContain("3,600");
    expect(text).toContain("4.3 / –");
    expect(text).toContain("120 / 300");
    expect(text).toContain("0 (+1 aborted)");
    expect(text).toMatch(/total\s*│\s*3\s*│/);
    expect(renderUsageTable(["model"], [row("a", 1)], row("", 1))).not.toContain("total");
    expect(renderUsageTable(["model"], [], undefined)).toBe("no requests yet");
  });
});
