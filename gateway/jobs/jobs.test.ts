/**
 * Async jobs over real HTTP: a gateway with its real services on SQLite, a simulator
 * subprocess behind a recording proxy. Acceptance (202, headers, the same refusals as a
 * synchronous request, limits charged), the worker (completion stored, one usage row per run,
 * retries then `failed`), `/v1/jobs`, cancellation reaching the engine, retention, metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setFaults, simStats } from "../test/fixtures.ts";
import type { JobObject } from "./serialize.ts";
import { type JobFixture, postAsync, startJobFixture, waitForJob } from "./testing.ts";

type Json = Record<string, unknown>;

let fx: JobFixture;
let alice: { id: string; secret: string };
let bob: { id: string; secret: string };

const chat = (content = "hello", extra: Json = {}) => ({
  model: "qwen3-32b",
  max_tokens: 8,
  messages: [{ role: "user", content }],
  ...extra,
});

beforeAll(async () => {
  fx = await startJobFixture({
    // A long request is needed to cancel one mid-run; short ones finish quickly anyway.
    simArgs: ["--tpot-ms", "20"],
    config: (c) => ({
      ...c,
      replicaCooldownMs: 1,
      routers: [
        {
          alias: "auto",
          baseline: "qwen3-32b",
          rules: [{ name: "extraction", when: { lastUserMessage: "\\bextract\\b" }, model: "qwen3-32b" }],
          default: { model: "qwen3-32b" },
        },
      ],
      tiers: {
        standard: { requestsPerMinute: 1_000, tokensPerMinute: 10_000_000, concurrentRequests: 50 },
        tiny: {
          requestsPerMinute: 2,
          tokensPerMinute: 10_000_000,
          concurrentRequests: 50,
          jobRetentionHours: 2,
        },
        // Room for two requests reserving 1,000 output tokens each, not three.
        tokens: { requestsPerMinute: 1_000, tokensPerMinute: 2_500, concurrentRequests: 50 },
      },
    }),
  });
  alice = await fx.newKey();
  bob = await fx.newKey();
}, 30_000);
afterAll(async () => {
  await fx?.close();
});

function submit(key: { secret: string }, body: unknown, headers: Record<string, string> = {}) {
  return postAsync(fx.url, key.secret, body, headers);
}

async function call(method: string, path: string, key: { secret: string }) {
  const res = await fetch(`${fx.url}${path}`, { method, headers: { authorization: `Bearer ${key.secret}` } });
  return { status: res.status, json: (await res.json()) as Json };
}

async function usageOf(keyId: string) {
  return (await fx.services.store.usage.summary({ groupBy: ["key"], keyId }))[0];
}

describe("Prefer: respond-async", () => {
  it("answers 202 with the job, Location and Preference-Applied; the job then succeeds with the completion", async () => {
    const key = await fx.newKey();
    const res = await submit(key, chat("what is 2+2?"));
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobObject;
    expect(job).toMatchObject({
      object: "job",
      status: "queued",
      model: "qwen3-32b",
      endpoint: "/v1/chat/completions",
    });
    expect(job.id).toMatch(/^job_[0-9a-f]{24}$/);
    expect(Math.abs(job.created_at - Date.now() / 1000)).toBeLessThan(5);
    expect(res.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
    expect(res.headers.get("preference-applied")).toBe("respond-async");

    const done = await waitForJob(fx.url, key.secret, job.id);
    expect(done).toMatchObject({ status: "succeeded", attempts: 1, error: null });
    expect(done.completion).toMatchObject({ object: "chat.completion", model: "qwen3-32b" });
    expect(done.finished_at).toBeGreaterThanOrEqual(done.started_at!);
    // The engine got the client's request, as it was sent.
    expect(fx.recorder.chats.at(-1)).toMatchObject({ messages: [{ role: "user", content: "what is 2+2?" }] });
    // One usage row, billed to the key, with the completion's tokens.
    const usage = await usageOf(key.id);
    const completion = done.completion as { usage: { prompt_tokens: number; completion_tokens: number } };
    expect(usage).toMatchObject({
      requests: 1,
      errors: 0,
      promptTokens: completion.usage.prompt_tokens,
      completionTokens: completion.usage.completion_tokens,
    });
  });

  it("a router alias works the same: the job is routed by its rules and metered under the alias", async () => {
    const key = await fx.newKey();
    const res = await submit(key, { ...chat("extract the date: 3 May"), model: "auto" });
    expect(res.status).toBe(202);
    const job = (await res.json()) as JobObject;
    expect(job.model).toBe("auto");
    const done = await waitForJob(fx.url, key.secret, job.id);
    expect(done).toMatchObject({ status: "succeeded", completion: { model: "qwen3-32b" } });
    const rows = await fx.services.store.usage.summary({
      groupBy: ["key"],
      keyId: key.id,
      requested: "auto",
    });
    expect(rows[0]).toMatchObject({ requests: 1, errors: 0 });
  });

  it("accepts respond-async among other preferences (RFC 7240 syntax)", async () => {
    const res = await submit(alice, chat(), { prefer: "return=minimal, respond-async; wait=5" });
    expect(res.status).toBe(202);
    await waitForJob(fx.url, alice.secret, ((await res.json()) as JobObject).id);
  });

  it("without the preference the request stays synchronous", async () => {
    const res = await submit(alice, chat(), { prefer: "return=minimal" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json)["object"]).toBe("chat.completion");
  });

  it("refuses what a synchronous request would refuse, the same way, and queues nothing", async () => {
    const key = await fx.newKey();
    for (const body of [
      { model: "qwen3-32b", messages: "not a list" },
      { model: "no-such-model", messages: [{ role: "user", content: "x" }] },
    ]) {
      const sync = await fetch(`${fx.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key.secret}` },
        body: JSON.stringify(body),
      });
      const async = await submit(key, body);
      expect(async.status).toBe(sync.status);
      expect(await async.json()).toEqual(await sync.json());
    }
    const bad = await fetch(`${fx.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer gk-wrong",
        prefer: "respond-async",
      },
      body: JSON.stringify(chat()),
    });
    expect(bad.status).toBe(401);
    expect((await call("GET", "/v1/jobs", key)).json["data"]).toEqual([]);
  });

  it("refuses `stream: true`, `X-Session-Id`, and a webhook endpoint the key does not have", async () => {
    const key = await fx.newKey();
    const stream = await submit(key, chat("x", { stream: true }));
    expect(stream.status).toBe(400);
    expect(((await stream.json()) as { error: Json }).error).toMatchObject({
      param: "stream",
      code: "stream_not_supported",
    });
    const session = await submit(key, chat(), { "x-session-id": "s1" });
    expect(((await session.json()) as { error: Json }).error["code"]).toBe("session_not_supported");
    const hook = await submit(key, chat(), { "gonka-webhook-id": "wh_123" });
    expect(hook.status).toBe(400);
    expect(((await hook.json()) as { error: Json }).error).toMatchObject({
      code: "webhook_not_found",
      param: null,
      message: expect.stringContaining("Gonka-Webhook-Id"),
    });
    expect((await call("GET", "/v1/jobs", key)).json["data"]).toEqual([]);
  });

  it("charges the rate limits at acceptance: over the key's requests per minute is a 429, nothing queued", async () => {
    const key = await fx.newKey("tiny");
    expect((await submit(key, chat())).status).toBe(202);
    expect((await submit(key, chat())).status).toBe(202);
    const third = await submit(key, chat());
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: Json }).error["code"]).toBe("rate_limit_exceeded");
    expect(((await call("GET", "/v1/jobs", key)).json["data"] as unknown[]).length).toBe(2);
  });
});

describe("rate limits at acceptance", () => {
  it("keeps the request's token estimate charged: tokens per minute refuse the job that would exceed them", async () => {
    const key = await fx.newKey("tokens");
    const big = chat("x", { max_tokens: 1_000 });
    expect((await submit(key, big)).status).toBe(202);
    expect((await submit(key, big)).status).toBe(202);
    const third = await submit(key, big);
    expect(third.status).toBe(429);
    expect(((await call("GET", "/v1/jobs", key)).json["data"] as unknown[]).length).toBe(2);
  });
});

describe("/v1/jobs", () => {
  it("lists the key's jobs newest first, in pages (`limit`, `after` = last_id); another key sees none of them", async () => {
    const key = await fx.newKey();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(((await (await submit(key, chat(`n${i}`))).json()) as JobObject).id);
    const first = await call("GET", "/v1/jobs?limit=2", key);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ object: "list", has_more: true, first_id: ids[2], last_id: ids[1] });
    const second = await call("GET", `/v1/jobs?limit=2&after=${first.json["last_id"]}`, key);
    expect(second.json).toMatchObject({ has_more: false, first_id: ids[0], last_id: ids[0] });
    expect((await call("GET", "/v1/jobs?limit=0", key)).json).toMatchObject({
      error: { code: "invalid_list_query", param: "limit" },
    });
    const other = await call("GET", `/v1/jobs/${ids[0]}`, bob);
    expect(other.status).toBe(404);
    expect((other.json["error"] as Json)["code"]).toBe("job_not_found");
    expect((await call("POST", `/v1/jobs/${ids[0]}/cancel`, bob)).status).toBe(404);
    for (const id of ids) await waitForJob(fx.url, key.secret, id);
  });

  it("keeps a finished job for its tier's retention (`jobRetentionHours`), else `jobs.retentionHours`", async () => {
    const small = await fx.newKey("tiny");
    const a = await waitForJob(
      fx.url,
      small.secret,
      ((await (await submit(small, chat())).json()) as JobObject).id,
    );
    expect(a.expires_at! - a.finished_at!).toBeGreaterThanOrEqual(2 * 3600 - 1);
    expect(a.expires_at! - a.finished_at!).toBeLessThanOrEqual(2 * 3600 + 1);
    const b = await waitForJob(
      fx.url,
      alice.secret,
      ((await (await submit(alice, chat())).json()) as JobObject).id,
    );
    expect(Math.abs(b.expires_at! - b.finished_at! - 24 * 3600)).toBeLessThanOrEqual(1);
  });

  it("cancelling a running job aborts its upstream request: the engine sees it cancelled", async () => {
    const key = await fx.newKey();
    const before = await simStats(fx.sim);
    const res = await submit(key, chat("write a long story", { max_tokens: 5_000 }));
    const { id } = (await res.json()) as JobObject;
    await waitForJob(fx.url, key.secret, id, (j) => j.status === "running");
    // Wait until the engine is generating it.
    await expect.poll(async () => (await simStats(fx.sim)).chat - before.chat, { timeout: 5_000 }).toBe(1);
    const cancelled = await call("POST", `/v1/jobs/${id}/cancel`, key);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ status: "cancelled", cancel_requested: true, completion: null });
    expect(cancelled.json["error"]).toMatchObject({ code: "job_cancelled" });
    await expect
      .poll(async () => (await simStats(fx.sim)).cancelled - before.cancelled, { timeout: 5_000 })
      .toBe(1);
    // The aborted run is metered like any client abort: one row, counted aborted.
    await expect.poll(async () => (await usageOf(key.id))?.aborted).toBe(1);
  });

  it("cancelling a queued job ends it at once; cancelling a finished job returns it unchanged", async () => {
    const key = await fx.newKey();
    const { id } = (await (await submit(key, chat())).json()) as JobObject;
    const done = await waitForJob(fx.url, key.secret, id);
    const again = await call("POST", `/v1/jobs/${id}/cancel`, key);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(done);
    // A queued job (inserted straight into the store, as another gateway would) is cancelled at once.
    const queued = await fx.services.store.jobs.create({
      keyId: key.id,
      tier: "standard",
      endpoint: "chat.completions",
      model: "qwen3-32b",
      request: chat(),
      requestId: "req_test_queued",
      clientRequestId: null,
      webhookId: null,
    });
    const res = await call("POST", `/v1/jobs/${queued.id}/cancel`, key);
    expect(res.json).toMatchObject({ status: "cancelled", error: { code: "job_cancelled" } });
  });

  it("retries a run that failed with a 5xx, then succeeds; each run leaves a usage row, one of them a 200", async () => {
    const key = await fx.newKey();
    await setFaults(fx.sim, [{ mode: "http_503", count: 2 }]);
    const { id } = (await (await submit(key, chat())).json()) as JobObject;
    const done = await waitForJob(fx.url, key.secret, id);
    expect(done).toMatchObject({ status: "succeeded", attempts: 3 });
    expect(await usageOf(key.id)).toMatchObject({ requests: 3, errors: 2 });
  });

  it("ends `failed` with the OpenAI error after `jobs.maxAttempts` runs", async () => {
    const key = await fx.newKey();
    await setFaults(fx.sim, [{ mode: "http_500", count: 3 }]);
    const { id } = (await (await submit(key, chat())).json()) as JobObject;
    const done = await waitForJob(fx.url, key.secret, id);
    await setFaults(fx.sim, []);
    expect(done).toMatchObject({ status: "failed", attempts: 3, completion: null });
    expect(done.error).toMatchObject({ type: expect.any(String), message: expect.any(String) });
    expect(Object.keys(done.error!).sort()).toEqual(["code", "message", "param", "type"]);
  });

  it("a client error from the engine (4xx) is not retried", async () => {
    const key = await fx.newKey();
    const script = {
      rules: [
        {
          match: { lastUserContains: "refuse-me" },
          reply: { content: "never" },
          error: { status: 400, message: "the engine refuses this", onHits: [1, 2, 3] },
        },
      ],
    };
    await fetch(`${fx.sim.url}/sim/script`, { method: "POST", body: JSON.stringify(script) });
    try {
      const { id } = (await (await submit(key, chat("refuse-me"))).json()) as JobObject;
      const done = await waitForJob(fx.url, key.secret, id);
      expect(done).toMatchObject({ status: "failed", attempts: 1 });
      expect(done.error).toMatchObject({
        type: "invalid_request_error",
        message: expect.stringContaining("refuses"),
      });
    } finally {
      await fetch(`${fx.sim.url}/sim/script`, { method: "DELETE" });
    }
  });

  it("a job whose key was revoked before it ran fails without reaching the engine", async () => {
    const key = await fx.newKey();
    await fx.services.store.keys.revoke(key.id);
    const before = await simStats(fx.sim);
    // Queued as another gateway would have queued it before the revocation.
    const job = await fx.services.store.jobs.create({
      keyId: key.id,
      tier: "standard",
      endpoint: "chat.completions",
      model: "qwen3-32b",
      request: chat(),
      requestId: "req_revoked_key_job",
      clientRequestId: null,
      webhookId: null,
    });
    await expect
      .poll(async () => (await fx.services.store.jobs.get(key.id, job.id))?.status, { timeout: 5_000 })
      .toBe("failed");
    const failed = await fx.services.store.jobs.get(key.id, job.id);
    expect(failed!.error).toMatchObject({ code: "invalid_api_key" });
    expect((await simStats(fx.sim)).chat).toBe(before.chat);
  });

  it("runs at most `jobs.concurrency` (default 4) jobs at once; the rest wait queued", async () => {
    const key = await fx.newKey();
    // The engine holds these requests until they are cancelled.
    const script = {
      rules: [{ match: { lastUserContains: "hold-on" }, reply: { content: "ok" }, delayMs: 30_000 }],
    };
    await fetch(`${fx.sim.url}/sim/script`, { method: "POST", body: JSON.stringify(script) });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++)
        ids.push(((await (await submit(key, chat("hold-on"))).json()) as JobObject).id);
      const statuses = async () => {
        const page = (await call("GET", "/v1/jobs", key)).json["data"] as JobObject[];
        return page.map((j) => j.status).sort();
      };
      await expect
        .poll(statuses, { timeout: 5_000 })
        .toEqual(["queued", "queued", "running", "running", "running", "running"]);
      for (const id of ids) await call("POST", `/v1/jobs/${id}/cancel`, key);
      await expect.poll(statuses, { timeout: 5_000 }).toEqual(Array(6).fill("cancelled"));
    } finally {
      await fetch(`${fx.sim.url}/sim/script`, { method: "DELETE" });
    }
  });

  it("exports job metrics: queued/running gauge, completions by outcome, duration histogram", async () => {
    const text = await (await fetch(`${fx.opsUrl}/metrics`)).text();
    expect(text).toMatch(/^gonka_jobs\{status="queued"\} \d+$/m);
    expect(text).toMatch(/^gonka_jobs\{status="running"\} \d+$/m);
    expect(text).toMatch(/^gonka_jobs_completed_total\{outcome="succeeded"\} [1-9]\d*$/m);
    expect(text).toMatch(/^gonka_jobs_completed_total\{outcome="cancelled"\} [1-9]\d*$/m);
    expect(text).toMatch(/^gonka_job_duration_seconds_count\{outcome="succeeded"\} [1-9]\d*$/m);
  });

  it("lists async_jobs in /gonka/info", async () => {
    const info = (await (await fetch(`${fx.opsUrl}/gonka/info`)).json()) as { features: Json };
    expect(info.features["async_jobs"]).toBe(true);
  });
});
