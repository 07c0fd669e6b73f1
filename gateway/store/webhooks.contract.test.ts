/**
 * The webhooks repository's contract, run against SQLite and a real Postgres: endpoints per
 * key (other keys see nothing), secret rotation with a grace period, the outbox (idempotent
 * enqueue, fan-out by subscription, leases that exclude concurrent claims and lapse, the
 * attempt log), redelivery and the outbox depth.
 */
import { describe, expect, it } from "vitest";
import { dialects, storePerTest } from "./contract.ts";
import { newWebhookSecret } from "./webhooks.ts";

describe.each(dialects)("webhooks contract: $name", (dialect) => {
  const t = storePerTest(dialect);

  const endpoint = (keyId: string, events: string[] | null = null, url = "https://hooks.example.com/in") =>
    t.store.webhooks.createEndpoint({ keyId, url, events, description: "ci", secret: newWebhookSecret() });
  const event = (eventId: string, endpointId: string | null = null, eventType = "job.succeeded") => ({
    eventId,
    eventType,
    keyId: "key_a",
    endpointId,
    payload: JSON.stringify({ type: eventType, data: { id: eventId } }),
  });
  const ok = { startedAt: Date.now(), durationMs: 12.5, statusCode: 200, error: null };

  it("keeps endpoints per key: other keys cannot read, list or delete them", async () => {
    const a = await endpoint("key_a", ["job.failed"]);
    expect(a).toMatchObject({
      keyId: "key_a",
      events: ["job.failed"],
      description: "ci",
      previousSecret: null,
    });
    expect(a.id).toMatch(/^we_/);
    expect(a.secret).toMatch(/^whsec_/);
    await endpoint("key_b");
    expect(await t.store.webhooks.getEndpoint("key_a", a.id)).toEqual(a);
    expect(await t.store.webhooks.getEndpoint("key_b", a.id)).toBeUndefined();
    expect((await t.store.webhooks.listEndpoints("key_a")).map((e) => e.id)).toEqual([a.id]);
    expect(await t.store.webhooks.deleteEndpoint("key_b", a.id)).toBe(false);
    expect(await t.store.webhooks.deleteEndpoint("key_a", a.id)).toBe(true);
    expect(await t.store.webhooks.listEndpoints("key_a")).toEqual([]);
  });

  it("rotates a secret, keeping the old one until the grace period ends", async () => {
    const a = await endpoint("key_a");
    const fresh = newWebhookSecret();
    const until = Date.now() + 60_000;
    expect(await t.store.webhooks.rotateSecret("key_b", a.id, fresh, until)).toBeUndefined();
    const rotated = await t.store.webhooks.rotateSecret("key_a", a.id, fresh, until);
    expect(rotated).toMatchObject({ secret: fresh, previousSecret: a.secret, previousSecretUntil: until });
    await t.store.webhooks.enqueue(event("evt_1"));
    const [claimed] = await t.store.webhooks.claim({ limit: 10, leaseMs: 30_000, token: "w1" });
    expect(claimed!.secrets).toEqual([fresh, a.secret]);
    // Grace period over: only the new secret signs.
    await t.store.webhooks.rotateSecret("key_a", a.id, newWebhookSecret(), Date.now() - 1);
    await t.store.webhooks.enqueue(event("evt_2"));
    const [next] = await t.store.webhooks.claim({ limit: 10, leaseMs: 30_000, token: "w2" });
    expect(next!.secrets).toHaveLength(1);
  });

  it("fans an event out to subscribed endpoints (or the named one), once per event id", async () => {
    const all = await endpoint("key_a");
    const failedOnly = await endpoint("key_a", ["job.failed"]);
    const succeededOnly = await endpoint("key_a", ["job.succeeded"]);
    await endpoint("key_b");
    expect(await t.store.webhooks.enqueue(event("evt_1"))).toBe(2);
    expect(await t.store.webhooks.enqueue(event("evt_1"))).toBe(0);
    expect(await t.store.webhooks.enqueue(event("evt_2", failedOnly.id))).toBe(1);
    expect(await t.store.webhooks.enqueue(event("evt_3", "we_missing"))).toBe(0);
    expect(await t.store.webhooks.pendingCount()).toBe(3);
    const claimed = await t.store.webhooks.claim({ limit: 10, leaseMs: 30_000, token: "w" });
    expect(claimed.map((c) => `${c.eventId}→${c.endpointId}`).sort()).toEqual(
      [`evt_1→${all.id}`, `evt_1→${succeededOnly.id}`, `evt_2→${failedOnly.id}`].sort(),
    );
    expect(claimed[0]).toMatchObject({ status: "pending", attempts: 0, url: "https://hooks.example.com/in" });
    expect(JSON.parse(claimed[0]!.payload)).toMatchObject({ type: "job.succeeded" });
  });

  it("leases exclude a second claimer until they lapse; a lapsed lease's finish writes nothing", async () => {
    await endpoint("key_a");
    await t.store.webhooks.enqueue(event("evt_1"));
    const other = await t.db.open(); // another gateway process on the same database
    try {
      const [first] = await t.store.webhooks.claim({ limit: 10, leaseMs: 150, token: "w1" });
      expect(first).toBeDefined();
      expect(await other.webhooks.claim({ limit: 10, leaseMs: 30_000, token: "w2" })).toEqual([]);
      await new Promise((r) => setTimeout(r, 200));
      const [again] = await other.webhooks.claim({ limit: 10, leaseMs: 30_000, token: "w2" });
      expect(again!.id).toBe(first!.id);
      expect(
        await t.store.webhooks.finish({
          deliveryId: first!.id,
          token: "w1",
          attempt: ok,
          next: { status: "succeeded" },
        }),
      ).toBe(false);
      expect(
        await other.webhooks.finish({
          deliveryId: first!.id,
          token: "w2",
          attempt: ok,
          next: { status: "succeeded" },
        }),
      ).toBe(true);
      expect(await t.store.webhooks.pendingCount()).toBe(0);
    } finally {
      await other.close();
    }
  });

  it("logs every attempt, schedules retries, ends failed, and redelivers on request", async () => {
    const a = await endpoint("key_a");
    await t.store.webhooks.enqueue(event("evt_1"));
    const claimOne = async () =>
      (await t.store.webhooks.claim({ limit: 1, leaseMs: 30_000, token: "w" }))[0]!;
    const d = await claimOne();
    await t.store.webhooks.finish({
      deliveryId: d.id,
      token: "w",
      attempt: { startedAt: 1_000, durationMs: 5, statusCode: 500, error: "HTTP 500" },
      next: { status: "pending", at: Date.now() + 60_000 },
    });
    // Not due yet: nothing to claim.
    expect(await t.store.webhooks.claim({ limit: 1, leaseMs: 30_000, token: "w" })).toEqual([]);
    expect(await t.store.webhooks.redeliver("key_b", a.id, d.id)).toBeUndefined();
    expect(await t.store.webhooks.redeliver("key_a", a.id, d.id)).toMatchObject({
      status: "pending",
      failures: 0,
    });
    const again = await claimOne();
    expect(again).toMatchObject({ id: d.id, attempts: 1, failures: 0, lastStatusCode: 500 });
    await t.store.webhooks.finish({
      deliveryId: d.id,
      token: "w",
      attempt: { startedAt: 2_000, durationMs: 10_000, statusCode: null, error: "timeout" },
      next: { status: "failed" },
    });
    const { deliveries, hasMore } = await t.store.webhooks.listDeliveries("key_a", a.id, 10);
    expect(hasMore).toBe(false);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({
      id: d.id,
      eventId: "evt_1",
      status: "failed",
      attempts: 2,
      failures: 1,
      nextAttemptAt: null,
      lastStatusCode: null,
      lastError: "timeout",
      log: [
        { attempt: 1, startedAt: 1_000, durationMs: 5, statusCode: 500, error: "HTTP 500" },
        { attempt: 2, startedAt: 2_000, durationMs: 10_000, statusCode: null, error: "timeout" },
      ],
    });
    expect((await t.store.webhooks.listDeliveries("key_b", a.id, 10)).deliveries).toEqual([]);
    expect(await t.store.webhooks.pendingCount()).toBe(0);
  });

  it("pages deliveries newest first, and deleting an endpoint drops its outbox", async () => {
    const a = await endpoint("key_a");
    for (let i = 0; i < 3; i++) await t.store.webhooks.enqueue(event(`evt_${i}`));
    const page = await t.store.webhooks.listDeliveries("key_a", a.id, 2);
    expect(page.hasMore).toBe(true);
    expect(page.deliveries).toHaveLength(2);
    expect(await t.store.webhooks.deleteEndpoint("key_a", a.id)).toBe(true);
    expect(await t.store.webhooks.pendingCount()).toBe(0);
    expect(await t.store.webhooks.claim({ limit: 10, leaseMs: 1_000, token: "w" })).toEqual([]);
  });

  it("sweeps settled deliveries older than the cut-off, in batches, never pending ones", async () => {
    await endpoint("key_a");
    for (let i = 0; i < 3; i++) await t.store.webhooks.enqueue(event(`evt_${i}`));
    const claimed = await t.store.webhooks.claim({ limit: 2, leaseMs: 30_000, token: "w" });
    for (const [i, d] of claimed.entries()) {
      await t.store.webhooks.finish({
        deliveryId: d.id,
        token: "w",
        attempt: ok,
        next: i === 0 ? { status: "succeeded" } : { status: "failed" },
      });
    }
    expect(await t.store.webhooks.sweep(Date.now() - 60_000, 10)).toBe(0);
    const later = Date.now() + 1_000;
    expect(await t.store.webhooks.sweep(later, 1)).toBe(1);
    expect(await t.store.webhooks.sweep(later, 10)).toBe(1);
    expect(await t.store.webhooks.sweep(later, 10)).toBe(0);
    expect(await t.store.webhooks.pendingCount()).toBe(1);
    expect(await t.db.sql("SELECT CAST(count(*) AS INTEGER) AS n FROM webhook_attempts")).toEqual([{ n: 0 }]);
  });
});
