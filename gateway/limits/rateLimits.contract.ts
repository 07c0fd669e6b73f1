/**
 * The behaviour every RateLimits implementation (memory, Redis) must show. Run by
 * rateLimits.test.ts once per implementation.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TierConfig } from "../config/schema.ts";
import { GatewayError } from "../errors.ts";
import type { Admission, RateLimitSubject, RateLimits } from "./rateLimits.ts";

export function tier(overrides: Partial<TierConfig> = {}): TierConfig {
  return {
    requestsPerMinute: 1_000,
    tokensPerMinute: 1_000_000,
    concurrentRequests: 100,
    sessionTtlSeconds: 3_600,
    sessionMaxMessages: 1_000,
    sessionMaxBytes: 4_194_304,
    ...overrides,
  };
}

export function subject(t: TierConfig, keyId = `key_${randomUUID()}`, tierName = "test"): RateLimitSubject {
  return { keyId, tierName, tier: t };
}

/** The GatewayError an admit throws, or fails the test if it admits. */
export async function refusal(promise: Promise<Admission>): Promise<GatewayError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected admit() to refuse");
}

export function rateLimitsContract(name: string, make: () => RateLimits): void {
  describe(`RateLimits contract: ${name}`, () => {
    it("admits exactly N requests a minute, then 429 with retry-after and x-ratelimit headers", async () => {
      const limits = make();
      const s = subject(tier({ requestsPerMinute: 3 }));
      for (let i = 0; i < 3; i++) {
        const a = await limits.admit(s, 10);
        expect(a.headers["x-ratelimit-limit-requests"]).toBe("3");
        expect(a.headers["x-ratelimit-remaining-requests"]).toBe(String(2 - i));
        expect(a.headers["x-ratelimit-reset-requests"]).toMatch(/^(\d+ms|\d+s|\d+m\d+s)$/);
        await a.settle(10);
      }
      const err = await refusal(limits.admit(s, 10));
      expect(err.status).toBe(429);
      expect(err.code).toBe("rate_limit_exceeded");
      expect(err.message).toMatch(/requests/);
      expect(Number(err.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(Number(err.headers["retry-after"])).toBeLessThanOrEqual(60);
      expect(err.headers).toMatchObject({
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-limit-tokens": "1000000",
        "x-ratelimit-remaining-tokens": String(1_000_000 - 30),
      });
      expect(err.headers["x-ratelimit-reset-tokens"]).toBeDefined();
      expect(await limits.inFlight(s.keyId)).toBe(0);
    });

    it("reserves the token estimate and returns the unused part on settle", async () => {
      const limits = make();
      const s = subject(tier({ tokensPerMinute: 1_000 }));
      const a = await limits.admit(s, 100);
      expect(a.headers["x-ratelimit-remaining-tokens"]).toBe("900");
      await a.settle(10);
      const b = await limits.admit(s, 0);
      expect(b.headers["x-ratelimit-remaining-tokens"]).toBe("990");
      await b.settle(0);
    });

    it("charges usage beyond the estimate", async () => {
      const limits = make();
      const s = subject(tier({ tokensPerMinute: 1_000 }));
      const a = await limits.admit(s, 100);
      await a.settle(300);
      const b = await limits.admit(s, 0);
      expect(b.headers["x-ratelimit-remaining-tokens"]).toBe("700");
      await b.settle(0);
    });

    it("refuses when the reservation does not fit, and keeps nothing of the refused request", async () => {
      const limits = make();
      const s = subject(tier({ tokensPerMinute: 250 }));
      const held = [await limits.admit(s, 100), await limits.admit(s, 100)];
      const err = await refusal(limits.admit(s, 100));
      expect(err.status).toBe(429);
      expect(err.message).toMatch(/tokens/);
      expect(err.headers["x-ratelimit-remaining-tokens"]).toBe("50");
      expect(Number(err.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      const fits = await limits.admit(s, 50);
      expect(fits.headers["x-ratelimit-remaining-tokens"]).toBe("0");
      for (const a of [...held, fits]) await a.settle(0);
      expect(await limits.inFlight(s.keyId)).toBe(0);
    });

    it("refuses a request whose estimate alone exceeds the tokens/min budget", async () => {
      const limits = make();
      const s = subject(tier({ tokensPerMinute: 1_000 }));
      const err = await refusal(limits.admit(s, 1_001));
      expect(err.status).toBe(429);
      expect(err.message).toMatch(/too large.*1001.*1000/s);
      expect(Number(err.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      const ok = await limits.admit(s, 1_000);
      await ok.settle(0);
    });

    it("holds concurrency slots until settle, on success and error paths alike", async () => {
      const limits = make();
      const s = subject(tier({ concurrentRequests: 2, tokensPerMinute: 1_000 }));
      const ok = await limits.admit(s, 100);
      const failing = await limits.admit(s, 100);
      expect(await limits.inFlight(s.keyId)).toBe(2);
      const err = await refusal(limits.admit(s, 100));
      expect(err.status).toBe(429);
      expect(err.message).toMatch(/concurrent/);
      expect(err.headers["retry-after"]).toBe("1");
      // The refused request's reservation was returned: 1000 - 2 x 100 held.
      expect(err.headers["x-ratelimit-remaining-tokens"]).toBe("800");
      expect(await limits.inFlight(s.keyId)).toBe(2);

      await ok.settle(40); // success
      await failing.settle(0); // upstream error / client abort / timeout: nothing generated
      expect(await limits.inFlight(s.keyId)).toBe(0);
    });

    it("settle is idempotent: a second call releases nothing more", async () => {
      const limits = make();
      const s = subject(tier({ tokensPerMinute: 1_000 }));
      const a = await limits.admit(s, 100);
      const b = await limits.admit(s, 100);
      await a.settle(0);
      await a.settle(0);
      await Promise.all([b.settle(50), b.settle(50)]);
      expect(await limits.inFlight(s.keyId)).toBe(0);
      const c = await limits.admit(s, 0);
      expect(c.headers["x-ratelimit-remaining-tokens"]).toBe("950");
      await c.settle(0);
      expect(await limits.inFlight(s.keyId)).toBe(0);
    });

    it("applies a tier change on the next admit, counting what the key already used", async () => {
      const limits = make();
      const keyId = `key_${randomUUID()}`;
      const small = subject(tier({ requestsPerMinute: 2 }), keyId, "free");
      const big = subject(tier({ requestsPerMinute: 10 }), keyId, "pro");
      for (let i = 0; i < 2; i++) await (await limits.admit(small, 1)).settle(1);
      await refusal(limits.admit(small, 1)); // 3 counted
      const upgraded = await limits.admit(big, 1); // 4th of 10
      expect(upgraded.headers["x-ratelimit-limit-requests"]).toBe("10");
      expect(upgraded.headers["x-ratelimit-remaining-requests"]).toBe("6");
      await upgraded.settle(1);
      const err = await refusal(limits.admit(small, 1)); // downgrade: over at once
      expect(err.headers["x-ratelimit-limit-requests"]).toBe("2");
    });
  });
}
