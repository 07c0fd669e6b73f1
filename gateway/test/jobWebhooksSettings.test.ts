/**
 * Jobs with webhooks on a real in-process gateway, with the one setting under test changed
 * per fixture: a quick retry schedule (a receiver that fails twice; a job that keeps getting
 * engine 5xx), and a small `webhooks.maxPayloadBytes` (the job sent as a link).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobObject } from "../jobs/serialize.ts";
import { type JobFixture, startJobFixture, waitForJob } from "../jobs/testing.ts";
import { type Receiver, startReceiver, verifyBoth } from "../webhooks/testing.ts";
import { api, type Json, register, settle, submit, webhookId } from "./jobWebhooksTesting.ts";

describe("jobs with webhooks: a receiver that fails twice", () => {
  let fx: JobFixture;
  let receiver: Receiver;

  beforeAll(async () => {
    fx = await startJobFixture({
      webhookAllowlist: ["127.0.0.1/32"],
      // The setting under test: quick retries (the default schedule starts at 5 s, then 30 s).
      config: (c) => ({ ...c, webhooks: { allowHttp: true, retryDelaysMs: [100, 200], jitter: 0 } }),
    });
    receiver = await startReceiver();
  }, 30_000);
  afterAll(async () => {
    await receiver?.close();
    await fx?.close();
  });

  it("gets job.succeeded three times with one webhook-id; the delivery log shows 3 attempts", async () => {
    const key = await fx.newKey();
    const endpoint = await register(fx, key.secret, `${receiver.origin}/flaky`);
    receiver.script = [500, 503];
    const job = await submit(fx, key.secret, "retry me", endpoint.id);
    const hits = await settle(receiver, "/flaky", 3);
    expect(hits).toHaveLength(3);
    expect(hits.map(webhookId)).toEqual([1, 2, 3].map(() => `evt_${job.id}_succeeded`));
    for (const hit of hits) expect((await verifyBoth(hit, endpoint.secret)).data.id).toBe(job.id);
    const res = await api(fx, key.secret, "GET", `/v1/webhooks/${endpoint.id}/deliveries`);
    const { data } = (await res.json()) as Json;
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({
      webhook_id: `evt_${job.id}_succeeded`,
      event_type: "job.succeeded",
      status: "succeeded",
      attempts: 3,
      last_status_code: 200,
    });
    expect(data[0].attempt_log.map((x: Json) => x.status_code)).toEqual([500, 503, 200]);
  }, 20_000);

  it("a job whose every run gets an engine 5xx ends failed after jobs.maxAttempts runs; job.failed arrives once", async () => {
    const key = await fx.newKey();
    const endpoint = await register(fx, key.secret, `${receiver.origin}/fails`);
    await fetch(`${fx.sim.url}/sim/faults`, { method: "POST", body: JSON.stringify([{ mode: "http_503" }]) });
    try {
      const job = await submit(fx, key.secret, "always busy", endpoint.id);
      const done = await waitForJob(fx.url, key.secret, job.id);
      expect(done).toMatchObject({ status: "failed", attempts: 3, completion: null });
      const hits = await settle(receiver, "/fails", 1);
      expect(hits).toHaveLength(1);
      const event = await verifyBoth(hits[0]!, endpoint.secret);
      expect(event).toMatchObject({ id: `evt_${job.id}_failed`, type: "job.failed" });
      expect(event.data).toEqual(done);
      expect(event.data.error).toMatchObject({ type: expect.any(String), message: expect.any(String) });
    } finally {
      await fetch(`${fx.sim.url}/sim/faults`, { method: "DELETE" });
    }
  }, 20_000);
});

describe("jobs with webhooks: a completion above webhooks.maxPayloadBytes", () => {
  let fx: JobFixture;
  let receiver: Receiver;

  beforeAll(async () => {
    fx = await startJobFixture({
      webhookAllowlist: ["127.0.0.1/32"],
      // The setting under test: a 1 KiB cap (256 KiB by default), below a 200-token completion.
      config: (c) => ({ ...c, webhooks: { allowHttp: true, maxPayloadBytes: 1024 } }),
    });
    receiver = await startReceiver();
  }, 30_000);
  afterAll(async () => {
    await receiver?.close();
    await fx?.close();
  });

  it("is sent as a link that GET resolves to the whole job", async () => {
    const key = await fx.newKey();
    const endpoint = await register(fx, key.secret, `${receiver.origin}/big`);
    const res = await fetch(`${fx.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key.secret}`,
        "content-type": "application/json",
        prefer: "respond-async",
        "gonka-webhook-id": endpoint.id,
      },
      body: JSON.stringify({
        model: "qwen3-32b",
        max_tokens: 200,
        messages: [{ role: "user", content: "a long answer" }],
      }),
    });
    const job = (await res.json()) as JobObject;
    const done = await waitForJob(fx.url, key.secret, job.id);
    expect(JSON.stringify(done).length).toBeGreaterThan(1024);
    const [hit] = await settle(receiver, "/big", 1);
    const event = await verifyBoth(hit!, endpoint.secret);
    expect(event.data).toEqual({
      id: job.id,
      object: "job",
      status: "succeeded",
      endpoint: done.endpoint,
      model: "qwen3-32b",
      created_at: done.created_at,
      finished_at: done.finished_at,
      webhook_id: endpoint.id,
      url: `/v1/jobs/${job.id}`,
      truncated: true,
    });
    const linked = await api(fx, key.secret, "GET", event.data.url);
    expect(await linked.json()).toEqual(done);
  }, 20_000);
});
