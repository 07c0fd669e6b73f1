/**
 * Async jobs and webhooks together across real gateway processes (`node gateway/main.ts`), as
 * deployed: a gateway SIGKILLed with a job running leaves it to the restarted gateway, which
 * runs it to the end and delivers its event exactly once; two gateways on one Postgres run
 * 20 jobs, each once, and deliver each job's event exactly once. The receiver is on loopback,
 * allow-listed with `GONKA_WEBHOOK_ALLOWLIST=127.0.0.1/32`.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../harness/postgresServer.ts";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import type { JobObject } from "../jobs/serialize.ts";
import { submitJob, waitForJob } from "../jobs/testing.ts";
import { openStore } from "../store/index.ts";
import { type Receiver, startReceiver, verifyBoth } from "../webhooks/testing.ts";
import { simStats } from "./fixtures.ts";
import { type ProcessFixture, startProcessFixture } from "./processFixture.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
type Json = any;

const ALLOW = { GONKA_WEBHOOK_ALLOWLIST: "127.0.0.1/32" };
const fixtures: ProcessFixture[] = [];
const receivers: Receiver[] = [];
let postgres: PostgresServer | undefined;
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await Promise.all(fixtures.map((f) => f.close()));
  await postgres?.stop();
});

/** Short leases, so a job lost with its gateway is taken over within about a second. */
const jobsConfig = { leaseMs: 1_000, pollIntervalMs: 50, retryBackoffMs: 10 };

async function register(gw: SpawnedGateway, secret: string, url: string): Promise<Json> {
  const res = await fetch(`${gw.url}/v1/webhooks`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ url }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

function submit(
  gw: SpawnedGateway,
  secret: string,
  content: string,
  maxTokens: number,
  webhookId: string,
): Promise<JobObject> {
  return submitJob(gw.url, secret, content, { maxTokens, webhookId });
}

describe("jobs with webhooks across gateway processes", () => {
  it("a gateway SIGKILLed with a job running: after a restart the job completes and its event arrives once", async () => {
    const fx = await startProcessFixture({
      preset: "qwen3-32b",
      // 150 tokens at 20 ms: a run lasts about 3 s, long enough to kill the gateway during it.
      simArgs: ["--tpot-ms", "20"],
      config: (c) => ({ ...c, jobs: jobsConfig, webhooks: { allowHttp: true } }),
    });
    fixtures.push(fx);
    const receiver = await startReceiver();
    receivers.push(receiver);
    const first = await fx.startGateway(ALLOW);
    const key = await fx.createKey(first, { name: "durable-hooks", tier: "standard" });
    const endpoint = await register(first, key.secret, `${receiver.origin}/hook`);
    const before = await simStats(fx.sims[0]!);
    const job = await submit(first, key.secret, "a long answer please", 150, endpoint.id);
    await waitForJob(first.url, key.secret, job.id, (j) => j.status === "running");
    await expect
      .poll(async () => (await simStats(fx.sims[0]!)).chat - before.chat, { timeout: 5_000 })
      .toBe(1);

    first.kill("SIGKILL");
    await first.exited;
    expect(receiver.hits).toHaveLength(0);

    const second = await fx.startGateway(ALLOW);
    const done = await waitForJob(second.url, key.secret, job.id, undefined, 20_000);
    expect(done).toMatchObject({ status: "succeeded", attempts: 2 });
    const [hit] = await receiver.waitFor(1);
    await new Promise((r) => setTimeout(r, 1_000)); // a second delivery would arrive meanwhile
    expect(receiver.hits).toHaveLength(1);
    expect(hit!.headers["webhook-id"]).toBe(`evt_${job.id}_succeeded`);
    const event = await verifyBoth(hit!, endpoint.secret);
    expect(event).toMatchObject({ type: "job.succeeded", data: { id: job.id, attempts: 2 } });
    expect(event.data).toEqual(done);
  }, 60_000);

  it("a job that ended but whose event was never handed over (a crash in between) is delivered as soon as a gateway starts", async () => {
    const fx = await startProcessFixture({
      preset: "qwen3-32b",
      config: (c) => ({ ...c, webhooks: { allowHttp: true } }),
    });
    fixtures.push(fx);
    const receiver = await startReceiver();
    receivers.push(receiver);
    const first = await fx.startGateway(ALLOW);
    const key = await fx.createKey(first, { name: "crash-window", tier: "standard" });
    const endpoint = await register(first, key.secret, `${receiver.origin}/hook`);
    await first.stop();
    // What a gateway killed between committing a job's end and emitting its event leaves behind.
    const store = await openStore({ dataDir: join(fx.dir, "data") });
    let jobId: string;
    try {
      const job = await store.jobs.create({
        keyId: key.id,
        tier: "standard",
        endpoint: "chat.completions",
        model: "qwen3-32b",
        request: { model: "qwen3-32b", messages: [{ role: "user", content: "hi" }] },
        requestId: "req_crash_window",
        clientRequestId: null,
        webhookId: endpoint.id,
      });
      jobId = job.id;
      const claim = await store.jobs.claim(30_000);
      expect(claim?.job.id).toBe(job.id);
      const completion = { id: "chatcmpl-x", object: "chat.completion", model: "qwen3-32b", choices: [] };
      const ended = await store.jobs.finish(job.id, claim!.token, {
        status: "succeeded",
        result: completion,
        error: null,
        retentionMs: 86_400_000,
        eventEmitted: false,
      });
      expect(ended?.eventEmitted).toBe(false);
    } finally {
      await store.close();
    }
    // The default jobs.sweepIntervalMs is 60 s: the restarted gateway must not wait that long.
    await fx.startGateway(ALLOW);
    const [hit] = await receiver.waitFor(1, 5_000);
    expect(hit!.headers["webhook-id"]).toBe(`evt_${jobId}_succeeded`);
    const event = await verifyBoth(hit!, endpoint.secret);
    expect(event).toMatchObject({ type: "job.succeeded", data: { id: jobId, status: "succeeded" } });
  }, 30_000);

  it("two gateways on one Postgres: 20 jobs, each run once and its job.succeeded delivered once", async () => {
    postgres = await startPostgresServer();
    const databaseUrl = await postgres.createDatabase("jobhooks");
    const fx = await startProcessFixture({
      preset: "qwen3-32b",
      simArgs: ["--tpot-ms", "5"],
      config: (c) => ({
        ...c,
        jobs: { ...jobsConfig, concurrency: 3 },
        webhooks: { allowHttp: true, pollIntervalMs: 50, concurrency: 4 },
        tiers: {
          bulk: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000, concurrentRequests: 100 },
        },
      }),
    });
    fixtures.push(fx);
    const receiver = await startReceiver();
    receivers.push(receiver);
    receiver.delayMs = 30; // widens the window in which a second sender could race the first
    const replica = (name: string) =>
      fx.startGateway({
        ...ALLOW,
        GONKA_DATA_DIR: join(fx.dir, `data-${name}`),
        GONKA_DATABASE_URL: databaseUrl,
      });
    const [a, b] = await Promise.all([replica("a"), replica("b")]);
    const key = await fx.createKey(a!, { name: "many-hooks", tier: "bulk" });
    const endpoint = await register(b!, key.secret, `${receiver.origin}/hook`);
    const before = await simStats(fx.sims[0]!);
    const jobs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => submit(i % 2 ? a! : b!, key.secret, `job ${i}`, 20, endpoint.id)),
    );
    const done = await Promise.all(jobs.map((j) => waitForJob(a!.url, key.secret, j.id, undefined, 30_000)));
    for (const job of done) expect(job).toMatchObject({ status: "succeeded", attempts: 1 });
    // Each job reached the engine exactly once.
    expect((await simStats(fx.sims[0]!)).chat - before.chat).toBe(20);

    await receiver.waitFor(20, 20_000);
    await new Promise((r) => setTimeout(r, 1_000)); // any duplicate would arrive meanwhile
    const ids = receiver.hits.map((h) => h.headers["webhook-id"]);
    expect(ids).toHaveLength(20);
    expect(new Set(ids)).toEqual(new Set(jobs.map((j) => `evt_${j.id}_succeeded`)));
    for (const hit of receiver.hits) {
      const event = await verifyBoth(hit, endpoint.secret);
      expect(event.data).toEqual(done.find((j) => j.id === event.data.id));
    }
  }, 90_000);
});
