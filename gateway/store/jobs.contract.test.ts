/**
 * The jobs repository's contract, run against SQLite and a real Postgres: ownership,
 * newest-first pages, claims with leases (one claimant per job, lapsed leases reclaimed),
 * token-guarded completion (no job completes twice), cancellation, events and retention.
 */
import { describe, expect, it } from "vitest";
import { dialects, storePerTest } from "./contract.ts";
import type { NewJob } from "./jobs.ts";

const HOUR = 3_600_000;
const job = (keyId: string, content = "hi"): NewJob => ({
  keyId,
  tier: "standard",
  endpoint: "chat.completions",
  model: "m",
  request: { model: "m", messages: [{ role: "user", content }] },
  requestId: `req_${Math.random()}`,
  clientRequestId: null,
  webhookId: null,
});
const completion = { id: "chatcmpl-1", object: "chat.completion", choices: [] };

describe.each(dialects)("jobs contract: $name", (dialect) => {
  const t = storePerTest(dialect);

  it("creates a queued job, readable only by its key, request JSON intact", async () => {
    const created = await t.store.jobs.create({ ...job("key_a"), webhookId: "wh_1", clientRequestId: "c-1" });
    expect(created).toMatchObject({ status: "queued", attempts: 0, keyId: "key_a", webhookId: "wh_1" });
    expect(created.id).toMatch(/^job_[0-9a-f]{24}$/);
    expect(await t.store.jobs.get("key_a", created.id)).toEqual(created);
    expect(created.request).toEqual(job("key_a").request);
    expect(await t.store.jobs.get("key_b", created.id)).toBeUndefined();
  });

  it("lists a key's jobs newest first, in pages continued by `after`", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await t.store.jobs.create(job("key_a"))).id);
    await t.store.jobs.create(job("key_b"));
    const first = await t.store.jobs.list({ keyId: "key_a", limit: 2 });
    expect(first.hasMore).toBe(true);
    const second = await t.store.jobs.list({ keyId: "key_a", limit: 2, after: first.data[1]!.id });
    const third = await t.store.jobs.list({ keyId: "key_a", limit: 2, after: second.data[1]!.id });
    expect(third.hasMore).toBe(false);
    const all = [...first.data, ...second.data, ...third.data].map((j) => j.id);
    expect(new Set(all)).toEqual(new Set(ids));
    expect(all).toHaveLength(5);
    const created = [...first.data, ...second.data, ...third.data].map((j) => j.createdAt);
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect((await t.store.jobs.list({ keyId: "key_a", limit: 2, after: "job_unknown" })).data).toEqual([]);
  });

  it("claims the oldest queued job once, counting an attempt; nothing left → undefined", async () => {
    const a = await t.store.jobs.create(job("key_a"));
    const b = await t.store.jobs.create(job("key_a"));
    const first = await t.store.jobs.claim(30_000);
    const second = await t.store.jobs.claim(30_000);
    expect([first?.job.id, second?.job.id].sort()).toEqual([a.id, b.id].sort());
    expect(first?.job).toMatchObject({ status: "running", attempts: 1 });
    expect(first!.job.startedAt).toBeGreaterThan(0);
    expect(await t.store.jobs.claim(30_000)).toBeUndefined();
  });

  it("two stores on one database claiming at once never share a job", async () => {
    const other = await t.db.open();
    try {
      for (let i = 0; i < 10; i++) await t.store.jobs.create(job("key_a"));
      const claims = await Promise.all(
        Array.from({ length: 14 }, (_, i) => (i % 2 ? other : t.store).jobs.claim(30_000)),
      );
      const ids = claims.filter((c) => c !== undefined).map((c) => c.job.id);
      expect(ids).toHaveLength(10);
      expect(new Set(ids).size).toBe(10);
    } finally {
      await other.close();
    }
  });

  it("finishes only under the claim token: a second finish, or a stale token, writes nothing", async () => {
    const created = await t.store.jobs.create(job("key_a"));
    const { token } = (await t.store.jobs.claim(30_000))!;
    expect(
      await t.store.jobs.finish(created.id, "not-the-token", { status: "failed", retentionMs: HOUR }),
    ).toBe(undefined);
    const done = await t.store.jobs.finish(created.id, token, {
      status: "succeeded",
      result: completion,
      retentionMs: HOUR,
    });
    expect(done).toMatchObject({ status: "succeeded", result: completion, error: null, eventEmitted: false });
    expect(done!.expiresAt! - done!.finishedAt!).toBe(HOUR);
    expect(
      await t.store.jobs.finish(created.id, token, { status: "failed", retentionMs: HOUR }),
    ).toBeUndefined();
    expect((await t.store.jobs.get("key_a", created.id))!.status).toBe("succeeded");
  });

  it("renews a held lease; a lapsed lease is reclaimed by another worker and the first can no longer finish", async () => {
    const created = await t.store.jobs.create(job("key_a"));
    const first = (await t.store.jobs.claim(1))!;
    await new Promise((r) => setTimeout(r, 20));
    const second = (await t.store.jobs.claim(30_000))!;
    expect(second.job).toMatchObject({ id: created.id, attempts: 2, status: "running" });
    expect(await t.store.jobs.renew(created.id, first.token, 30_000)).toEqual({
      held: false,
      cancelRequested: false,
    });
    expect(await t.store.jobs.renew(created.id, second.token, 30_000)).toEqual({
      held: true,
      cancelRequested: false,
    });
    expect(
      await t.store.jobs.finish(created.id, first.token, { status: "succeeded", retentionMs: HOUR }),
    ).toBe(undefined);
    expect(
      await t.store.jobs.finish(created.id, second.token, { status: "succeeded", retentionMs: HOUR }),
    ).toMatchObject({ status: "succeeded", attempts: 2 });
  });

  it("a renewed lease is not reclaimed", async () => {
    await t.store.jobs.create(job("key_a"));
    const held = (await t.store.jobs.claim(1))!;
    await t.store.jobs.renew(held.job.id, held.token, 30_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(await t.store.jobs.claim(30_000)).toBeUndefined();
  });

  it("release puts a job back in the queue; a refund takes the attempt back", async () => {
    const created = await t.store.jobs.create(job("key_a"));
    const a = (await t.store.jobs.claim(30_000))!;
    expect(await t.store.jobs.release(created.id, a.token, false)).toBe(true);
    expect(await t.store.jobs.release(created.id, a.token, false)).toBe(false);
    const b = (await t.store.jobs.claim(30_000))!;
    expect(b.job.attempts).toBe(2);
    await t.store.jobs.release(created.id, b.token, true);
    expect((await t.store.jobs.get("key_a", created.id))!).toMatchObject({ status: "queued", attempts: 1 });
  });

  it("cancels a queued job at once, flags a running one, leaves a finished one unchanged", async () => {
    const error = { message: "cancelled", type: "invalid_request_error", param: null, code: "job_cancelled" };
    const queued = await t.store.jobs.create(job("key_a"));
    expect(await t.store.jobs.cancel("key_b", queued.id, HOUR, error)).toBeUndefined();
    expect(await t.store.jobs.cancel("key_a", queued.id, HOUR, error)).toMatchObject({
      status: "cancelled",
      error,
    });
    expect(await t.store.jobs.claim(30_000)).toBeUndefined();

    const running = await t.store.jobs.create(job("key_a"));
    const claim = (await t.store.jobs.claim(30_000))!;
    expect(await t.store.jobs.cancel("key_a", running.id, HOUR, error)).toMatchObject({
      status: "running",
      cancelRequested: true,
    });
    expect(await t.store.jobs.renew(running.id, claim.token, 30_000)).toEqual({
      held: true,
      cancelRequested: true,
    });

    const done = await t.store.jobs.finish(running.id, claim.token, {
      status: "cancelled",
      error,
      retentionMs: HOUR,
    });
    expect(await t.store.jobs.cancel("key_a", running.id, HOUR, error)).toEqual(done);
  });

  it("lists finished jobs whose event was not emitted, until marked", async () => {
    const a = await t.store.jobs.create(job("key_a"));
    const b = await t.store.jobs.create(job("key_a"));
    // Claim order among jobs created in the same millisecond is not fixed: finish the one claimed.
    for (let i = 0; i < 2; i++) {
      const { job: claimed, token } = (await t.store.jobs.claim(30_000))!;
      await t.store.jobs.finish(claimed.id, token, {
        status: "succeeded",
        retentionMs: HOUR,
        eventEmitted: claimed.id === b.id,
      });
    }
    expect((await t.store.jobs.unemitted(10)).map((j) => j.id)).toEqual([a.id]);
    await t.store.jobs.markEmitted(a.id);
    expect(await t.store.jobs.unemitted(10)).toEqual([]);
  });

  it("sweeps finished jobs past their retention, in batches, and keeps the rest", async () => {
    for (let i = 0; i < 3; i++) {
      await t.store.jobs.create(job("key_a"));
      const { job: claimed, token } = (await t.store.jobs.claim(30_000))!;
      await t.store.jobs.finish(claimed.id, token, { status: "succeeded", retentionMs: 0 });
    }
    const keep = await t.store.jobs.create(job("key_a"));
    const long = await t.store.jobs.create(job("key_a"));
    await new Promise((r) => setTimeout(r, 5));
    expect(await t.store.jobs.sweep(2)).toBe(2);
    expect(await t.store.jobs.sweep(2)).toBe(1);
    expect(await t.store.jobs.sweep(2)).toBe(0);
    expect((await t.store.jobs.list({ keyId: "key_a", limit: 10 })).data.map((j) => j.id).sort()).toEqual(
      [keep.id, long.id].sort(),
    );
    expect(await t.store.jobs.countByStatus()).toEqual({ queued: 2 });
  });
});
