/**
 * Async jobs and webhooks together (issue 14's acceptance): a real in-process gateway with its
 * real store and the webhooks outbox as the jobs' event sink, the simulator as the engine, and
 * a loopback receiver (the one allow-listed address, 127.0.0.1/32). A job's end reaches the
 * receiver signed, verified with both the `openai` SDK's `webhooks.unwrap()` and
 * `standardwebhooks`; the named endpoint (`Gonka-Webhook-Id`) or every subscribed one gets it.
 * Settings under test (retry schedule, payload cap) are in jobWebhooksSettings.test.ts; restarts
 * and replicas in jobWebhooksProcesses.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobObject } from "../jobs/serialize.ts";
import { type JobFixture, startJobFixture, waitForJob } from "../jobs/testing.ts";
import { type Receiver, startReceiver, verifyBoth } from "../webhooks/testing.ts";
import { simStats } from "./fixtures.ts";
import {
  api,
  cancelledCount,
  hooksTo,
  type Json,
  register,
  settle,
  submit,
  webhookId,
} from "./jobWebhooksTesting.ts";

describe("jobs with webhooks, default configuration (allow-list 127.0.0.1/32, http allowed)", () => {
  let fx: JobFixture;
  let receiver: Receiver;
  let key: { id: string; secret: string };
  let a: Json;
  let b: Json;

  beforeAll(async () => {
    fx = await startJobFixture({
      webhookAllowlist: ["127.0.0.1/32"],
      config: (c) => ({ ...c, webhooks: { allowHttp: true } }),
    });
    receiver = await startReceiver();
    key = await fx.newKey();
    // Both endpoints subscribe to every event type (no `events` given).
    a = await register(fx, key.secret, `${receiver.origin}/a`);
    b = await register(fx, key.secret, `${receiver.origin}/b`);
  }, 30_000);
  afterAll(async () => {
    await receiver?.close();
    await fx?.close();
  });

  it("without Gonka-Webhook-Id, every subscribed endpoint gets job.succeeded with the completion", async () => {
    receiver.hits.length = 0;
    const job = await submit(fx, key.secret, "hello both");
    const done = await waitForJob(fx.url, key.secret, job.id);
    expect(done.status).toBe("succeeded");
    const [toA] = await settle(receiver, "/a", 1);
    const [toB] = await settle(receiver, "/b", 1);
    for (const [hit, endpoint] of [
      [toA!, a],
      [toB!, b],
    ] as const) {
      expect(webhookId(hit)).toBe(`evt_${job.id}_succeeded`);
      const event = await verifyBoth(hit, endpoint.secret);
      expect(event).toMatchObject({ id: `evt_${job.id}_succeeded`, object: "event", type: "job.succeeded" });
      // The job object, as GET /v1/jobs/{id} shows it, completion included.
      expect(event.data).toEqual(done);
      expect(event.data.completion).toMatchObject({ object: "chat.completion", model: "qwen3-32b" });
      expect(event.data.completion.choices).toHaveLength(1);
      expect(event.data.completion.usage.completion_tokens).toBeGreaterThan(0);
    }
    expect(receiver.hits).toHaveLength(2);
  }, 20_000);

  it("with Gonka-Webhook-Id, only that endpoint gets it", async () => {
    receiver.hits.length = 0;
    const job = await submit(fx, key.secret, "hello b", b.id);
    expect(job.webhook_id).toBe(b.id);
    const done = await waitForJob(fx.url, key.secret, job.id);
    const [hit] = await settle(receiver, "/b", 1);
    const event = await verifyBoth(hit!, b.secret);
    expect(event).toMatchObject({ id: `evt_${job.id}_succeeded`, type: "job.succeeded" });
    expect(event.data).toEqual(done);
    expect(webhookId(hit!)).toBe(event.id);
    // A's secret does not verify B's hook, and A got nothing.
    await expect(verifyBoth(hit!, a.secret)).rejects.toThrow();
    expect(hooksTo(receiver, "/a")).toHaveLength(0);
  }, 20_000);

  it("a named endpoint gets the job's event whatever its `events` list", async () => {
    receiver.hits.length = 0;
    const res = await api(fx, key.secret, "POST", "/v1/webhooks", {
      url: `${receiver.origin}/failures`,
      events: ["job.failed"],
    });
    const failuresOnly = (await res.json()) as Json;
    try {
      const job = await submit(fx, key.secret, "hello failures endpoint", failuresOnly.id);
      await waitForJob(fx.url, key.secret, job.id);
      const [hit] = await settle(receiver, "/failures", 1);
      expect((await verifyBoth(hit!, failuresOnly.secret)).type).toBe("job.succeeded");
      // Without the header, an endpoint subscribed to job.failed only is not called for a success.
      const other = await submit(fx, key.secret, "hello subscribers");
      await waitForJob(fx.url, key.secret, other.id);
      await settle(receiver, "/a", 1);
      expect(hooksTo(receiver, "/failures")).toHaveLength(1);
    } finally {
      await api(fx, key.secret, "DELETE", `/v1/webhooks/${failuresOnly.id}`);
    }
  }, 20_000);

  it("a Gonka-Webhook-Id the key does not have (unknown, or another key's) is a 400 and queues nothing", async () => {
    const other = await fx.newKey();
    for (const id of [a.id, "we_unknown", "not-an-id"]) {
      const res = await fetch(`${fx.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${other.secret}`,
          "content-type": "application/json",
          prefer: "respond-async",
          "gonka-webhook-id": id,
        },
        body: JSON.stringify({
          model: "qwen3-32b",
          max_tokens: 8,
          messages: [{ role: "user", content: "x" }],
        }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).error).toMatchObject({
        type: "invalid_request_error",
        code: "webhook_not_found",
        param: null,
      });
    }
    const list = (await (await api(fx, other.secret, "GET", "/v1/jobs")).json()) as Json;
    expect(list.data).toEqual([]);
  }, 20_000);

  it("a cancelled running job aborts the engine request and delivers job.cancelled", async () => {
    receiver.hits.length = 0;
    const script = {
      rules: [{ match: { lastUserContains: "hold-on" }, reply: { content: "ok" }, delayMs: 30_000 }],
    };
    await fetch(`${fx.sim.url}/sim/script`, { method: "POST", body: JSON.stringify(script) });
    try {
      const before = await simStats(fx.sim);
      const job = await submit(fx, key.secret, "hold-on", a.id);
      await waitForJob(fx.url, key.secret, job.id, (j) => j.status === "running");
      const res = await api(fx, key.secret, "POST", `/v1/jobs/${job.id}/cancel`);
      expect(res.status).toBe(200);
      const [hit] = await settle(receiver, "/a", 1);
      const event = await verifyBoth(hit!, a.secret);
      expect(event).toMatchObject({
        id: `evt_${job.id}_cancelled`,
        type: "job.cancelled",
        data: { id: job.id, status: "cancelled", completion: null, error: { code: "job_cancelled" } },
      });
      expect(webhookId(hit!)).toBe(`evt_${job.id}_cancelled`);
      await expect
        .poll(async () => (await simStats(fx.sim)).cancelled - before.cancelled, { timeout: 5_000 })
        .toBe(1);
    } finally {
      await fetch(`${fx.sim.url}/sim/script`, { method: "DELETE" });
    }
  }, 20_000);

  it("a queued job cancelled delivers job.cancelled at once (not at the next sweep, 60 s later)", async () => {
    receiver.hits.length = 0;
    const endpoint = await register(fx, key.secret, `${receiver.origin}/queued`);
    const script = {
      rules: [{ match: { lastUserContains: "hold-on" }, reply: { content: "ok" }, delayMs: 30_000 }],
    };
    await fetch(`${fx.sim.url}/sim/script`, { method: "POST", body: JSON.stringify(script) });
    const held: JobObject[] = [];
    const cancelledBefore = await cancelledCount(fx);
    try {
      // jobs.concurrency (4 by default) held jobs fill this gateway's worker: the next one waits.
      for (let i = 0; i < 4; i++) held.push(await submit(fx, key.secret, `hold-on ${i}`, endpoint.id));
      for (const j of held) await waitForJob(fx.url, key.secret, j.id, (x) => x.status === "running");
      const queued = await submit(fx, key.secret, "hold-on queued", endpoint.id);
      const res = await api(fx, key.secret, "POST", `/v1/jobs/${queued.id}/cancel`);
      expect(((await res.json()) as Json).status).toBe("cancelled");
      const [hit] = await settle(receiver, "/queued", 1);
      expect(hit!.headers["webhook-id"]).toBe(`evt_${queued.id}_cancelled`);
      const event = await verifyBoth(hit!, endpoint.secret);
      expect(event).toMatchObject({
        type: "job.cancelled",
        data: { id: queued.id, status: "cancelled", attempts: 0 },
      });
    } finally {
      for (const j of held) await api(fx, key.secret, "POST", `/v1/jobs/${j.id}/cancel`);
      await settle(receiver, "/queued", 5);
      // All five counted in gonka_jobs_completed_total, the one that never ran too.
      expect((await cancelledCount(fx)) - cancelledBefore).toBe(5);
      await fetch(`${fx.sim.url}/sim/script`, { method: "DELETE" });
      await api(fx, key.secret, "DELETE", `/v1/webhooks/${endpoint.id}`);
    }
  }, 20_000);

  it("a job the engine refuses (400) fails at once and delivers job.failed with the error", async () => {
    receiver.hits.length = 0;
    const script = {
      rules: [
        {
          match: { lastUserContains: "refuse-me" },
          reply: { content: "never" },
          error: { status: 400, onHits: [1], message: "the engine says no" },
        },
      ],
    };
    await fetch(`${fx.sim.url}/sim/script`, { method: "POST", body: JSON.stringify(script) });
    try {
      const job = await submit(fx, key.secret, "refuse-me", a.id);
      const done = await waitForJob(fx.url, key.secret, job.id);
      expect(done).toMatchObject({ status: "failed", attempts: 1, completion: null });
      const [hit] = await settle(receiver, "/a", 1);
      const event = await verifyBoth(hit!, a.secret);
      expect(event).toMatchObject({ id: `evt_${job.id}_failed`, type: "job.failed" });
      expect(event.data).toEqual(done);
      expect(event.data.error.message).toContain("the engine says no");
    } finally {
      await fetch(`${fx.sim.url}/sim/script`, { method: "DELETE" });
    }
  }, 20_000);
});
