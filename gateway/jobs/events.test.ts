/**
 * Job events through the sink seam (webhooks plug in here), retention sweeping, and the
 * jobs OpenAPI document. Real HTTP, real SQLite store, a simulator behind; the sink is a
 * small in-test one that records into an array.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobsOpenApi } from "./openapi.ts";
import type { JobObject } from "./serialize.ts";
import { type JobFixture, postAsync, RecordingSink, startJobFixture, waitForJob } from "./testing.ts";

type Json = Record<string, unknown>;

let fx: JobFixture;
let alice: { id: string; secret: string };
const sink = new RecordingSink();

beforeAll(async () => {
  fx = await startJobFixture({
    sink,
    config: (c) => ({
      ...c,
      jobs: { ...c.jobs, sweepIntervalMs: 50 },
      tiers: {
        standard: { requestsPerMinute: 1_000, tokensPerMinute: 10_000_000, concurrentRequests: 50 },
        // 36 ms: finished jobs of this tier are swept at once.
        ephemeral: {
          requestsPerMinute: 1_000,
          tokensPerMinute: 10_000_000,
          concurrentRequests: 50,
          jobRetentionHours: 0.00001,
        },
      },
    }),
  });
  alice = await fx.newKey();
  sink.endpoints.set("wh_alice", alice.id);
}, 30_000);
afterAll(async () => {
  await fx?.close();
});

function submit(key: { secret: string }, headers: Record<string, string> = {}, content = "hi") {
  return postAsync(
    fx.url,
    key.secret,
    { model: "qwen3-32b", max_tokens: 8, messages: [{ role: "user", content }] },
    headers,
  );
}

describe("job events", () => {
  it("emits one job.succeeded event with a stable id, the named endpoint and the job with its completion", async () => {
    const res = await submit(alice, { "gonka-webhook-id": "wh_alice" });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as JobObject;
    const done = await waitForJob(fx.url, alice.secret, id);
    await expect.poll(() => sink.events.filter((e) => e.job.id === id).length).toBe(1);
    const event = sink.events.find((e) => e.job.id === id)!;
    expect(event).toMatchObject({
      id: `evt_${id}_succeeded`,
      type: "job.succeeded",
      keyId: alice.id,
      endpointId: "wh_alice",
    });
    expect(event.job).toEqual(done);
    expect(event.job.completion).toMatchObject({ object: "chat.completion" });
    await expect.poll(async () => (await fx.services.store.jobs.get(alice.id, id))?.eventEmitted).toBe(true);
  });

  it("checks a named endpoint at acceptance: another key's or an unknown one is refused, nothing queued", async () => {
    const bob = await fx.newKey();
    const res = await submit(bob, { "gonka-webhook-id": "wh_alice" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: Json }).error["code"]).toBe("webhook_not_found");
    expect((await fx.services.store.jobs.list({ keyId: bob.id, limit: 10 })).data).toEqual([]);
  });

  it("a job without a named endpoint emits with endpointId null (every subscribed endpoint)", async () => {
    const { id } = (await (await submit(alice)).json()) as JobObject;
    await waitForJob(fx.url, alice.secret, id);
    await expect.poll(() => sink.events.find((e) => e.job.id === id)?.endpointId).toBe(null);
  });

  it("an event the sink could not take (a crash between the job's end and its event) is re-emitted by the sweeper, same id", async () => {
    sink.failNext = 1;
    const { id } = (await (await submit(alice)).json()) as JobObject;
    await waitForJob(fx.url, alice.secret, id);
    await expect
      .poll(() => sink.events.filter((e) => e.id === `evt_${id}_succeeded`).length, { timeout: 5_000 })
      .toBe(1);
    expect(sink.failNext).toBe(0);
    await expect.poll(async () => (await fx.services.store.jobs.get(alice.id, id))?.eventEmitted).toBe(true);
  });

  it("a cancelled job emits job.cancelled", async () => {
    const job = await fx.services.store.jobs.create({
      keyId: alice.id,
      tier: "standard",
      endpoint: "chat.completions",
      model: "qwen3-32b",
      request: { model: "qwen3-32b", max_tokens: 4_000, messages: [{ role: "user", content: "long" }] },
      requestId: "req_cancel_event",
      clientRequestId: null,
      webhookId: null,
    });
    const res = await fetch(`${fx.url}/v1/jobs/${job.id}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.secret}` },
    });
    expect(((await res.json()) as JobObject).status).toBe("cancelled");
    await expect
      .poll(() => sink.events.find((e) => e.job.id === job.id)?.type, { timeout: 5_000 })
      .toBe("job.cancelled");
  });
});

describe("retention", () => {
  it("deletes a finished job after its tier's retention: GET is then 404", async () => {
    const key = await fx.newKey("ephemeral");
    const { id } = (await (await submit(key)).json()) as JobObject;
    await expect
      .poll(
        async () =>
          (await fetch(`${fx.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${key.secret}` } }))
            .status,
        { timeout: 5_000 },
      )
      .toBe(404);
    // Its event was emitted before it went.
    expect(sink.events.some((e) => e.job.id === id)).toBe(true);
  });
});

describe("OpenAPI", () => {
  it("the jobs document is served and names exactly the mounted /v1/jobs routes", async () => {
    const served = (await (await fetch(`${fx.opsUrl}/gonka/openapi/jobs.json`)).json()) as Json;
    expect(served).toEqual(JSON.parse(JSON.stringify(jobsOpenApi)));
    const dispatch = fx.gateway.app.middleware.find((m) => "router" in m) as unknown as {
      router: { stack: Array<{ path: unknown; methods: string[] }> };
    };
    const mounted = new Set<string>();
    for (const layer of dispatch.router.stack) {
      if (typeof layer.path !== "string" || !layer.path.startsWith("/v1/jobs")) continue;
      for (const m of layer.methods)
        if (m !== "HEAD") mounted.add(`${m} ${layer.path.replace(/:(\w+)/g, "{$1}")}`);
    }
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(jobsOpenApi.paths)) {
      if (!p.startsWith("/v1/jobs")) continue;
      for (const m of Object.keys(item)) if (m !== "parameters") documented.add(`${m.toUpperCase()} ${p}`);
    }
    expect([...mounted].sort()).toEqual([...documented].sort());
  });

  it("live responses match the document's schemas", async () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...JSON.parse(JSON.stringify(jobsOpenApi)), $id: "jobs" });
    const check = (schema: string, value: unknown) => {
      const ok = ajv.validate({ $ref: `jobs#/components/schemas/${schema}` }, value);
      expect(ok, `${schema}: ${ajv.errorsText()}`).toBe(true);
    };
    const accepted = await submit(alice);
    const job = (await accepted.json()) as JobObject;
    check("Job", job);
    check("Job", await waitForJob(fx.url, alice.secret, job.id));
    const get = (path: string, method = "GET") =>
      fetch(`${fx.url}${path}`, { method, headers: { authorization: `Bearer ${alice.secret}` } }).then((r) =>
        r.json(),
      );
    check("JobList", await get("/v1/jobs?limit=2"));
    check("Job", await get(`/v1/jobs/${job.id}/cancel`, "POST"));
    check("Error", await get("/v1/jobs/job_nope"));
    const failed = await fx.services.store.jobs.list({ keyId: alice.id, limit: 50 });
    for (const j of failed.data.filter((x) => x.status === "cancelled"))
      check("Job", await get(`/v1/jobs/${j.id}`));
  });
});
