/** The retry schedule: the configured delays in order, scaled by jitter, then failed. */
import { describe, expect, it } from "vitest";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import { openStore } from "../store/index.ts";
import { tempDataDir } from "../store/testing.ts";
import { newWebhookSecret } from "../store/webhooks.ts";
import { sweepDeliveries } from "./sweeper.ts";
import { nextAfterFailure } from "./worker.ts";

describe("nextAfterFailure", () => {
  const config = { retryDelaysMs: [1_000, 5_000], jitter: 0.2 };

  it("waits the schedule's delay for the n-th failure, within ± jitter, then fails", () => {
    expect(nextAfterFailure(0, config, 10_000, () => 0.5)).toEqual({ status: "pending", at: 11_000 });
    expect(nextAfterFailure(0, config, 10_000, () => 0)).toEqual({ status: "pending", at: 10_800 });
    expect(nextAfterFailure(0, config, 10_000, () => 1)).toEqual({ status: "pending", at: 11_200 });
    expect(nextAfterFailure(1, config, 10_000, () => 0.5)).toEqual({ status: "pending", at: 15_000 });
    expect(nextAfterFailure(2, config, 10_000, () => 0.5)).toEqual({ status: "failed" });
    for (let i = 0; i < 200; i++) {
      const next = nextAfterFailure(1, config, 0);
      expect(next.status === "pending" && next.at >= 4_000 && next.at <= 6_000).toBe(true);
    }
  });

  it("defaults to 8 retries from 5 s to 10 h with 20% jitter, https only and an empty allow-list", () => {
    const { webhooks } = parseConfig(
      buildGatewayConfig({ models: [{ preset: "kimi-k2.5", replicaUrls: ["http://127.0.0.1:9"] }] }),
    );
    expect(webhooks).toEqual({
      allowHttp: false,
      allowlist: [],
      timeoutMs: 10_000,
      retryDelaysMs: [5_000, 30_000, 120_000, 600_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000],
      jitter: 0.2,
      maxPayloadBytes: 262_144,
      pollIntervalMs: 1_000,
      concurrency: 16,
      secretGraceSeconds: 86_400,
      retentionDays: 30,
      sweepIntervalMs: 3_600_000,
      maxEndpointsPerKey: 20,
    });
  });
});

describe("sweepDeliveries", () => {
  it("deletes settled deliveries once they are older than retentionDays, and keeps pending ones", async () => {
    const data = tempDataDir();
    const store = await openStore({ dataDir: data.dir });
    try {
      const { webhooks } = store;
      await webhooks.createEndpoint({
        keyId: "k",
        url: "https://hooks.example.com/",
        events: null,
        description: null,
        secret: newWebhookSecret(),
      });
      for (const id of ["evt_1", "evt_2"]) {
        await webhooks.enqueue({
          eventId: id,
          eventType: "job.failed",
          keyId: "k",
          endpointId: null,
          payload: "{}",
        });
      }
      const [done] = await webhooks.claim({ limit: 1, leaseMs: 1_000, token: "t" });
      const attempt = { startedAt: Date.now(), durationMs: 1, statusCode: 200, error: null };
      await webhooks.finish({ deliveryId: done!.id, token: "t", attempt, next: { status: "succeeded" } });
      const day = 86_400_000;
      expect(await sweepDeliveries(webhooks, 30, Date.now() + 29 * day)).toBe(0);
      expect(await sweepDeliveries(webhooks, 30, Date.now() + 31 * day)).toBe(1);
      expect(await webhooks.pendingCount()).toBe(1);
    } finally {
      await store.close();
      data.remove();
    }
  });
});
