/** The retry schedule: the configured delays in order, scaled by jitter, then failed. */
import { describe, expect, it } from "vitest";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
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
      maxEndpointsPerKey: 20,
    });
  });
});
