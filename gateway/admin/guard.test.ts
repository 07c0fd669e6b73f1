import * as crypto from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { bearerToken } from "../auth/bearer.ts";
import { GatewayError } from "../errors.ts";
import { adminGuard, adminTokenMatches, assertUsableAdminKey } from "./guard.ts";

vi.mock("node:crypto", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:crypto")>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const KEY = "admin-0123456789abcdefghijklmnop";

describe("adminTokenMatches", () => {
  it("compares SHA-256 digests with timingSafeEqual, whatever the lengths", () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    for (const [presented, expected] of [
      [KEY, true],
      [`${KEY.slice(0, -1)}X`, false],
      ["short", false],
      [`${KEY}-and-much-longer-than-the-real-key`, false],
      ["", false],
    ] as const) {
      spy.mockClear();
      expect(adminTokenMatches(presented, KEY)).toBe(expected);
      // Exactly one constant-time comparison, always over two 32-byte digests (no length leak, no throw).
      expect(spy).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0]!;
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });
});

describe("bearerToken", () => {
  it("reads the token of a Bearer header, any case, and nothing else", () => {
    expect(bearerToken(`Bearer ${KEY}`)).toBe(KEY);
    expect(bearerToken(`bearer  ${KEY} `)).toBe(KEY);
    expect(bearerToken(`Basic ${KEY}`)).toBeUndefined();
    expect(bearerToken("Bearer")).toBeUndefined();
    expect(bearerToken("Bearer a b")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe("adminGuard", () => {
  const run = async (authorization: string | undefined) => {
    const next = vi.fn(async () => {});
    const headers: Record<string, string> = {};
    const ctx = {
      get: (name: string) => (name === "authorization" ? (authorization ?? "") : ""),
      set: (name: string, value: string) => {
        headers[name] = value;
      },
    };
    const guard = adminGuard(KEY);
    try {
      await guard(ctx as never, next);
      return { next, headers, error: undefined };
    } catch (err) {
      return { next, headers, error: err as GatewayError };
    }
  };

  it("lets the admin key through and marks the response no-store", async () => {
    const { next, headers, error } = await run(`Bearer ${KEY}`);
    expect(error).toBeUndefined();
    expect(next).toHaveBeenCalledOnce();
    expect(headers["cache-control"]).toBe("no-store");
  });

  it.each([
    ["no header", undefined],
    ["a wrong token of equal length", `Bearer ${"x".repeat(KEY.length)}`],
    ["a shorter token", "Bearer abc"],
    ["a longer token", `Bearer ${KEY}${KEY}`],
    ["an API key", "Bearer gk-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["another scheme", `Basic ${KEY}`],
  ])("refuses %s with 401 invalid_admin_key", async (_label, header) => {
    const { next, error } = await run(header);
    expect(next).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(GatewayError);
    expect(error!.status).toBe(401);
    expect(error!.toBody().error).toMatchObject({
      type: "authentication_error",
      code: "invalid_admin_key",
      param: null,
    });
  });

  it("refuses to start with a short admin key or one that looks like an API key", () => {
    expect(() => assertUsableAdminKey("short")).toThrow(/at least 24 characters/);
    expect(() => assertUsableAdminKey("")).toThrow(/at least 24/);
    expect(() => adminGuard(`gk-${"a".repeat(40)}`)).toThrow(/must not look like an API key/);
    expect(() => assertUsableAdminKey(KEY)).not.toThrow();
  });
});
