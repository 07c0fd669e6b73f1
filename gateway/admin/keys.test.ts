import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../store/keys.ts";
import { type AdminFixture, type Reply, startAdminFixture } from "./testing.ts";

let fx: AdminFixture;

beforeAll(async () => {
  fx = await startAdminFixture();
});

afterAll(async () => {
  await fx.close();
});

function expectError(
  reply: Pick<Reply, "status" | "json">,
  status: number,
  code: string,
  param?: string | null,
) {
  expect(reply.status).toBe(status);
  expect(Object.keys(reply.json.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(reply.json.error.code).toBe(code);
  expect(reply.json.error.message).toEqual(expect.any(String));
  if (param !== undefined) expect(reply.json.error.param).toBe(param);
}

describe("admin authentication", () => {
  it("refuses a missing token, a wrong token and an API key with 401 invalid_admin_key", async () => {
    const created = await fx.call("POST", "/admin/keys", { body: { name: "tenant", tier: "free" } });
    const apiKey: string = created.json.secret;
    for (const token of [null, "wrong-token", `${"test-admin-key-0123456789abcdefghij"}x`, apiKey]) {
      const reply = await fx.call("GET", "/admin/keys", { token });
      expectError(reply, 401, "invalid_admin_key", null);
      expect(reply.json.error.type).toBe("authentication_error");
      expect(reply.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("guards every admin route, even ones that would fail validation", async () => {
    const routes: Array<[string, string]> = [
      ["GET", "/admin/keys"],
      ["POST", "/admin/keys"],
      ["GET", "/admin/keys/key_x"],
      ["PATCH", "/admin/keys/key_x"],
      ["DELETE", "/admin/keys/key_x"],
      ["POST", "/admin/keys/key_x/rotate"],
      ["POST", "/admin/keys/key_x/revoke"],
      ["GET", "/admin/usage?group_by=nonsense"],
      ["GET", "/admin/sessions"],
      ["GET", "/admin/sessions/key_x/s"],
      ["DELETE", "/admin/sessions/key_x/s"],
      ["GET", "/admin/models"],
      ["GET", "/admin/tiers"],
      ["GET", "/admin/openapi.json"],
    ];
    for (const [method, p] of routes) {
      const reply = await fx.call(method, p, {
        token: "nope",
        ...(method === "POST" || method === "PATCH" ? { body: {} } : {}),
      });
      expect(reply.status, `${method} ${p}`).toBe(401);
    }
  });

  it("answers with no-store so secrets do not land in caches", async () => {
    const reply = await fx.call("GET", "/admin/tiers");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("cache-control")).toBe("no-store");
  });
});

describe("key lifecycle", () => {
  it("creates, lists, gets, updates, rotates, revokes and deletes a key", async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
    const created = await fx.call("POST", "/admin/keys", {
      body: { name: "agent-fleet", tier: "free", models: ["qwen3-32b"], expires_at: expiresAt },
    });
    expect(created.status).toBe(201);
    const secret: string = created.json.secret;
    expect(secret).toMatch(/^gk-[A-Za-z0-9_-]{32}$/);
    const key = created.json.key;
    expect(key).toEqual({
      id: expect.stringMatching(/^key_/),
      object: "api_key",
      name: "agent-fleet",
      prefix: secret.slice(0, 8),
      tier: "free",
      models: ["qwen3-32b"],
      status: "active",
      created_at: expect.any(Number),
      updated_at: expect.any(Number),
      expires_at: expiresAt,
      revoked_at: null,
    });
    expect(Math.abs(key.created_at - Date.now() / 1000)).toBeLessThan(5);
    // The auth path sees the key through the cache.
    expect((await fx.keyCache.lookup(secret))?.tier).toBe("free");

    const list = await fx.call("GET", "/admin/keys");
    expect(list.json.object).toBe("list");
    expect(list.json.data.map((k: { id: string }) => k.id)).toContain(key.id);
    const got = await fx.call("GET", `/admin/keys/${key.id}`);
    expect(got.json).toEqual(key);
    for (const reply of [list, got]) {
      expect(reply.text).not.toContain(secret);
      expect(reply.text).not.toContain(hashSecret(secret));
      expect(reply.text).not.toContain("secret");
    }

    fx.invalidate.mockClear();
    const patched = await fx.call("PATCH", `/admin/keys/${key.id}`, {
      body: { tier: "enterprise", name: "agent-fleet-2", models: null, expires_at: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      tier: "enterprise",
      name: "agent-fleet-2",
      models: null,
      expires_at: null,
    });
    expect(fx.invalidate).toHaveBeenCalledWith(key.id);
    // The cache's TTL is a minute: only the invalidation can make the new tier visible now.
    expect((await fx.keyCache.lookup(secret))?.tier).toBe("enterprise");

    fx.invalidate.mockClear();
    const rotated = await fx.call("POST", `/admin/keys/${key.id}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).toMatch(/^gk-/);
    expect(rotated.json.secret).not.toBe(secret);
    expect(rotated.json.key.id).toBe(key.id);
    expect(rotated.json.key.prefix).toBe(rotated.json.secret.slice(0, 8));
    expect(fx.invalidate).toHaveBeenCalledWith(key.id);
    expect(await fx.keyCache.lookup(secret)).toBeUndefined();
    expect((await fx.keyCache.lookup(rotated.json.secret))?.id).toBe(key.id);

    fx.invalidate.mockClear();
    const revoked = await fx.call("POST", `/admin/keys/${key.id}/revoke`);
    expect(revoked.json).toMatchObject({ id: key.id, status: "revoked", revoked_at: expect.any(Number) });
    expect(fx.invalidate).toHaveBeenCalledWith(key.id);
    expect((await fx.keyCache.lookup(rotated.json.secret))?.status).toBe("revoked");
    // Revoked keys cannot be rotated back to life.
    expectError(await fx.call("POST", `/admin/keys/${key.id}/rotate`), 400, "key_revoked");

    const other = await fx.call("POST", "/admin/keys", { body: { name: "short-lived", tier: "standard" } });
    fx.invalidate.mockClear();
    const deleted = await fx.call("DELETE", `/admin/keys/${other.json.key.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.json.status).toBe("revoked");
    expect(fx.invalidate).toHaveBeenCalledWith(other.json.key.id);
    // Still readable afterwards (usage history points at it), and revoking again is idempotent.
    expect((await fx.call("GET", `/admin/keys/${other.json.key.id}`)).json.status).toBe("revoked");
    expect((await fx.call("DELETE", `/admin/keys/${other.json.key.id}`)).json.revoked_at).toBe(
      deleted.json.revoked_at,
    );

    const active = await fx.call("GET", "/admin/keys?status=active");
    const revokedList = await fx.call("GET", "/admin/keys?status=revoked");
    expect(active.json.data.every((k: { status: string }) => k.status === "active")).toBe(true);
    expect(revokedList.json.data.map((k: { id: string }) => k.id)).toEqual(
      expect.arrayContaining([key.id, other.json.key.id]),
    );
    expect(active.json.data.map((k: { id: string }) => k.id)).not.toContain(key.id);

    // No secret ever issued is in the database files (main file and WAL).
    const dir = path.dirname(fx.store.location);
    const bytes = readdirSync(dir)
      .map((f) => readFileSync(path.join(dir, f)).toString("latin1"))
      .join("\n");
    for (const s of [secret, rotated.json.secret, other.json.secret]) {
      expect(bytes).not.toContain(s);
      expect(bytes).not.toContain(s.slice(3));
    }
    expect(bytes).toContain(hashSecret(rotated.json.secret));
  });

  it("reports keys past their expiry as expired and filters on it", async () => {
    const issued = await fx.store.keys.create({ name: "old", tier: "free", expiresAt: Date.now() - 1_000 });
    const got = await fx.call("GET", `/admin/keys/${issued.key.id}`);
    expect(got.json.status).toBe("expired");
    const expired = await fx.call("GET", "/admin/keys?status=expired");
    expect(expired.json.data.map((k: { id: string }) => k.id)).toEqual([issued.key.id]);
    const active = await fx.call("GET", "/admin/keys?status=active");
    expect(active.json.data.map((k: { id: string }) => k.id)).not.toContain(issued.key.id);
  });

  it("answers 404 key_not_found for unknown ids on every key route", async () => {
    for (const [method, p, body] of [
      ["GET", "/admin/keys/key_missing", undefined],
      ["PATCH", "/admin/keys/key_missing", { name: "x" }],
      ["POST", "/admin/keys/key_missing/rotate", undefined],
      ["POST", "/admin/keys/key_missing/revoke", undefined],
      ["DELETE", "/admin/keys/key_missing", undefined],
    ] as const) {
      const reply = await fx.call(method, p, body === undefined ? {} : { body });
      expectError(reply, 404, "key_not_found", "id");
      expect(reply.json.error.type).toBe("not_found_error");
    }
  });
});

describe("key validation", () => {
  it("names the configured tiers when the tier is unknown (create and update)", async () => {
    const reply = await fx.call("POST", "/admin/keys", { body: { name: "x", tier: "platinum" } });
    expectError(reply, 400, "unknown_tier", "tier");
    expect(reply.json.error.message).toContain("enterprise, free, standard");
    const key = (await fx.call("POST", "/admin/keys", { body: { name: "y", tier: "free" } })).json.key;
    expectError(
      await fx.call("PATCH", `/admin/keys/${key.id}`, { body: { tier: "gold" } }),
      400,
      "unknown_tier",
      "tier",
    );
    expect((await fx.call("GET", `/admin/keys/${key.id}`)).json.tier).toBe("free");
  });

  it("refuses allow-lists naming models the gateway does not serve, and accepts aliases", async () => {
    const reply = await fx.call("POST", "/admin/keys", {
      body: { name: "typo", tier: "free", models: ["qwen3-32b", "qwen-3-32b"] },
    });
    expectError(reply, 400, "unknown_model", "models");
    expect(reply.json.error.message).toMatch(/`qwen-3-32b`.*serves: .*qwen3-32b/);
    const ok = await fx.call("POST", "/admin/keys", {
      body: { name: "alias", tier: "free", models: ["qwen"] },
    });
    expect(ok.status).toBe(201);
    expectError(
      await fx.call("PATCH", `/admin/keys/${ok.json.key.id}`, { body: { models: ["gpt-9"] } }),
      400,
      "unknown_model",
      "models",
    );
  });

  it.each([
    [{ name: "x", tier: "free", models: "qwen3-32b" }, "models"],
    [{ name: "x", tier: "free", models: [] }, "models"],
    [{ name: "x", tier: "free", models: [1] }, "models.0"],
    [{ name: "x", tier: "free", expires_at: "tomorrow" }, "expires_at"],
    [{ name: "x", tier: "free", expires_at: 1.5e9 + 0.5 }, "expires_at"],
    [{ name: "x", tier: "free", expires_at: 1_000 }, "expires_at"],
    [{ name: "x", tier: "free", expires_at: Date.now() + 86_400_000 }, "expires_at"],
    [{ name: "", tier: "free" }, "name"],
    [{ tier: "free" }, "name"],
    [{ name: "x" }, "tier"],
    [{ name: "x", tier: "free", expiresAt: 2e9 }, "expiresAt"],
  ])("rejects %j naming %s", async (body, param) => {
    const reply = await fx.call("POST", "/admin/keys", { body });
    expectError(reply, 400, "invalid_key_field", param);
    expect(reply.json.error.type).toBe("invalid_request_error");
  });

  it("explains expires_at in seconds, and refuses non-object, non-JSON and empty patches", async () => {
    const ms = await fx.call("POST", "/admin/keys", {
      body: { name: "x", tier: "free", expires_at: Date.now() + 1e6 },
    });
    expect(ms.json.error.message).toMatch(/unix time in seconds/);
    expectError(await fx.call("POST", "/admin/keys", { body: ["x"] }), 400, "invalid_key_field", null);
    expectError(await fx.call("POST", "/admin/keys", { body: "{not json" }), 400, "invalid_json");
    const key = (await fx.call("POST", "/admin/keys", { body: { name: "z", tier: "free" } })).json.key;
    expectError(
      await fx.call("PATCH", `/admin/keys/${key.id}`, { body: {} }),
      400,
      "invalid_key_field",
      null,
    );
    const badStatus = await fx.call("GET", "/admin/keys?status=deleted");
    expectError(badStatus, 400, "invalid_key_query", "status");
    expect(badStatus.json.error.message).toMatch(/active, revoked or expired/);
  });
});
