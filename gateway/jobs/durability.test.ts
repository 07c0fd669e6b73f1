/**
 * Jobs across real gateway processes (`node gateway/main.ts`), as deployed: a gateway
 * SIGKILLed mid-job leaves the job to the next gateway on the same store, which re-runs it
 * once its lease lapses; two gateways on one Postgres run each of 20 jobs exactly once.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../harness/postgresServer.ts";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { simStats } from "../test/fixtures.ts";
import { type ProcessFixture, startProcessFixture } from "../test/processFixture.ts";
import type { JobObject } from "./serialize.ts";
import { submitJob, waitForJob } from "./testing.ts";

const fixtures: ProcessFixture[] = [];
let postgres: PostgresServer | undefined;
afterAll(async () => {
  await Promise.all(fixtures.map((f) => f.close()));
  await postgres?.stop();
});

/** Short leases and polls, so a lost run is taken over within about a second. */
const jobsConfig = { leaseMs: 1_000, pollIntervalMs: 50, retryBackoffMs: 10 };

function submit(gw: SpawnedGateway, secret: string, content: string, maxTokens = 8): Promise<JobObject> {
  return submitJob(gw.url, secret, content, { maxTokens });
}

describe("a gateway killed with a job running", () => {
  it("the restarted gateway re-runs the job to completion; only the finished run is billed", async () => {
    const fx = await startProcessFixture({
      preset: "qwen3-32b",
      // 150 tokens at 20 ms: a run lasts about 3 s, long enough to kill the gateway during it.
      simArgs: ["--tpot-ms", "20"],
      config: (c) => ({ ...c, jobs: jobsConfig }),
    });
    fixtures.push(fx);
    const first = await fx.startGateway();
    const key = await fx.createKey(first, { name: "durable", tier: "standard" });
    const before = await simStats(fx.sims[0]!);
    const job = await submit(first, key.secret, "a long answer please", 150);
    await waitForJob(first.url, key.secret, job.id, (j) => j.status === "running");
    await expect
      .poll(async () => (await simStats(fx.sims[0]!)).chat - before.chat, { timeout: 5_000 })
      .toBe(1);

    first.kill("SIGKILL");
    await first.exited;
    // The engine saw the dead gateway's request go away.
    await expect
      .poll(async () => (await simStats(fx.sims[0]!)).cancelled - before.cancelled, { timeout: 5_000 })
      .toBe(1);

    const second = await fx.startGateway();
    const done = await waitForJob(second.url, key.secret, job.id, undefined, 30_000);
    expect(done).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(done.completion).toMatchObject({ object: "chat.completion" });
    expect((await simStats(fx.sims[0]!)).chat - before.chat).toBe(2);

    // Stopped cleanly, the second gateway has imported its usage journal into the store.
    await second.stop();
    const db = new Database(join(fx.dir, "data", "gateway.sqlite"), { readonly: true });
    try {
      const rows = db
        .prepare("SELECT request_id, status, completion_tokens FROM usage_rows WHERE key_id = ?")
        .all(key.id) as { request_id: string; status: number; completion_tokens: number }[];
      // The killed run never finished, so it never read usage: it has no row and is not billed.
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        status: 200,
        completion_tokens: (done.completion as { usage: { completion_tokens: number } }).usage
          .completion_tokens,
      });
      expect(rows[0]!.request_id).toMatch(/_2$/);
    } finally {
      db.close();
    }
  }, 90_000);
});

describe("a gateway stopped gracefully with a job running", () => {
  it("lets a running job finish within `shutdownGraceMs` before exiting", async () => {
    const fx = await startProcessFixture({
      preset: "qwen3-32b",
      simArgs: ["--tpot-ms", "20"],
      config: (c) => ({ ...c, jobs: jobsConfig }),
    });
    fixtures.push(fx);
    const gw = await fx.startGateway();
    const key = await fx.createKey(gw, { name: "graceful-finish", tier: "standard" });
    const job = await submit(gw, key.secret, "a long answer please", 100);
    await waitForJob(gw.url, key.secret, job.id, (j) => j.status === "running");
    await gw.stop();
    const db = new Database(join(fx.dir, "data", "gateway.sqlite"), { readonly: true });
    try {
      const row = db.prepare("SELECT status, attempts FROM jobs WHERE id = ?").get(job.id);
      expect(row).toEqual({ status: "succeeded", attempts: 1 });
    } finally {
      db.close();
    }
  }, 60_000);

  it("puts the job back in the queue with its attempt refunded; the next gateway runs it", async () => {
    const fx = await startProcessFixture({
      preset: "qwen3-32b",
      simArgs: ["--tpot-ms", "20"],
      // The grace is shorter than the run: the job cannot finish before the gateway exits.
      config: (c) => ({ ...c, shutdownGraceMs: 200, jobs: { ...jobsConfig, leaseMs: 60_000 } }),
    });
    fixtures.push(fx);
    const first = await fx.startGateway();
    const key = await fx.createKey(first, { name: "graceful", tier: "standard" });
    const job = await submit(first, key.secret, "a long answer please", 150);
    await waitForJob(first.url, key.secret, job.id, (j) => j.status === "running");
    await first.stop();
    expect(await first.exited).toBe(0);
    // With a 60 s lease, only a released claim lets the next gateway run it now.
    const second = await fx.startGateway();
    const done = await waitForJob(second.url, key.secret, job.id, undefined, 20_000);
    expect(done).toMatchObject({ status: "succeeded", attempts: 1 });
  }, 60_000);
});

describe("two gateway processes on one Postgres", () => {
  let fx: ProcessFixture;
  let databaseUrl: string;
  const replica = (name: string) =>
    fx.startGateway({ GONKA_DATA_DIR: join(fx.dir, `data-${name}`), GONKA_DATABASE_URL: databaseUrl });

  beforeAll(async () => {
    postgres = await startPostgresServer();
    databaseUrl = await postgres.createDatabase("jobs");
    fx = await startProcessFixture({
      preset: "qwen3-32b",
      simArgs: ["--tpot-ms", "5"],
      config: (c) => ({
        ...c,
        jobs: { ...jobsConfig, concurrency: 3 },
        tiers: {
          bulk: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000, concurrentRequests: 100 },
        },
      }),
    });
    fixtures.push(fx);
  }, 60_000);

  it("20 jobs, submitted to both: each is run once and completed once", async () => {
    const [a, b] = await Promise.all([replica("a"), replica("b")]);
    const key = await fx.createKey(a, { name: "many", tier: "bulk" });
    const before = await simStats(fx.sims[0]!);
    const jobs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => submit(i % 2 ? a : b, key.secret, `job ${i}`, 20)),
    );
    const done = await Promise.all(jobs.map((j) => waitForJob(a.url, key.secret, j.id, undefined, 60_000)));
    for (const job of done) expect(job).toMatchObject({ status: "succeeded", attempts: 1 });
    // Each job reached the engine exactly once.
    expect((await simStats(fx.sims[0]!)).chat - before.chat).toBe(20);

    await Promise.all([a.stop(), b.stop()]);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ request_id: string; status: number }>(
        "SELECT request_id, status FROM usage_rows WHERE key_id = $1",
        [key.id],
      );
      expect(rows).toHaveLength(20);
      expect(rows.every((r) => r.status === 200)).toBe(true);
      const finished = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM jobs WHERE key_id = $1 AND status = 'succeeded' AND attempts = 1",
        [key.id],
      );
      expect(finished.rows[0]!.n).toBe(20);
    } finally {
      await client.end();
    }
  }, 120_000);

  it("a job cancelled through the other replica stops on the one running it, and the engine sees the abort", async () => {
    // Only A runs while the job is claimed; B starts afterwards and just takes the cancel.
    const a = await replica("c");
    const key = await fx.createKey(a, { name: "cancel-across", tier: "bulk" });
    const before = await simStats(fx.sims[0]!);
    // The engine holds this request 30 s before answering: it is still running when cancelled.
    const script = {
      rules: [{ match: { lastUserContains: "hold-on" }, reply: { content: "ok" }, delayMs: 30_000 }],
    };
    await fetch(`${fx.sims[0]!.url}/sim/script`, { method: "POST", body: JSON.stringify(script) });
    const job = await submit(a, key.secret, "hold-on", 8);
    await waitForJob(a.url, key.secret, job.id, (j) => j.status === "running");
    const b = await replica("d");
    const res = await fetch(`${b.url}/v1/jobs/${job.id}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ cancel_requested: true });
    const done = await waitForJob(b.url, key.secret, job.id, undefined, 10_000);
    expect(done).toMatchObject({ status: "cancelled", attempts: 1, error: { code: "job_cancelled" } });
    await expect
      .poll(async () => (await simStats(fx.sims[0]!)).cancelled - before.cancelled, { timeout: 5_000 })
      .toBe(1);
    await fetch(`${fx.sims[0]!.url}/sim/script`, { method: "DELETE" });
    await Promise.all([a.stop(), b.stop()]);
  }, 60_000);
});
