/**
 * `/v1/sessions` (the caller's own sessions), `/admin/sessions` (every key's), the sessions
 * OpenAPI documents checked against the mounted routes and live responses, and
 * `/gonka/info` listing the feature. Real HTTP, real SQLite store, a simulator behind.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminOpenApi } from "../admin/openapi.ts";
import { post } from "../test/fixtures.ts";
import { sessionsOpenApi } from "./openapi.ts";
import { ADMIN_KEY, type SessionFixture, startSessionFixture } from "./testing.ts";

type Json = Record<string, unknown>;

let fx: SessionFixture;
let alice: { id: string; secret: string };
let bob: { id: string; secret: string };

beforeAll(async () => {
  fx = await startSessionFixture({ preset: "qwen3-32b" });
  alice = await fx.newKey();
  bob = await fx.newKey();
}, 30_000);
afterAll(async () => {
  await fx?.close();
});

async function call(method: string, path: string, key: { secret: string } | "admin", body?: unknown) {
  const base = key === "admin" ? fx.opsUrl : fx.url;
  const token = key === "admin" ? ADMIN_KEY : key.secret;
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

async function say(key: { secret: string }, session: string, content: string) {
  const res = await post(
    `${fx.url}/v1/chat/completions`,
    { model: "qwen3-32b", max_tokens: 8, messages: [{ role: "user", content }] },
    { authorization: `Bearer ${key.secret}`, "x-session-id": session },
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

describe("/v1/sessions", () => {
  it("POST creates an empty session (metadata optional, body optional) that chat turns then fill", async () => {
    const created = await call("POST", "/v1/sessions", alice, { metadata: { agent: "planner" } });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      object: "session",
      metadata: { agent: "planner" },
      message_count: 0,
      messages: [],
      usage: { requests: 0, prompt_tokens: 0, completion_tokens: 0, reasoning_tokens: 0, cached_tokens: 0 },
    });
    const id = created.json["id"] as string;
    expect(id).toMatch(/^sess_[0-9a-f]{24}$/);
    // Sliding TTL: the default tier keeps a session 24 h after its last activity.
    expect((created.json["expires_at"] as number) - (created.json["last_active_at"] as number)).toBe(86_400);
    const bare = await fetch(`${fx.url}/v1/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.secret}` },
    });
    expect(bare.status).toBe(200);
    expect(((await bare.json()) as Json)["metadata"]).toBeNull();

    const reply = await say(alice, id, "hello");
    const got = await call("GET", `/v1/sessions/${id}`, alice);
    expect(got.status).toBe(200);
    expect(got.json["metadata"]).toEqual({ agent: "planner" });
    expect(got.json["message_count"]).toBe(2);
    expect((got.json["messages"] as Json[])[0]).toEqual({ role: "user", content: "hello" });
    const usage = reply["usage"] as Json;
    expect(got.json["usage"]).toMatchObject({
      requests: 1,
      prompt_tokens: usage["prompt_tokens"],
      completion_tokens: usage["completion_tokens"],
    });
  });

  it("refuses bad metadata with a 400 naming the field", async () => {
    const bad = await call("POST", "/v1/sessions", alice, { metadata: "not an object" });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { param: "metadata", code: "invalid_session_field" } });
    const huge = await call("POST", "/v1/sessions", alice, { metadata: { notes: "x".repeat(16 * 1024) } });
    expect(huge.status).toBe(400);
    expect(huge.json).toMatchObject({ error: { param: "metadata", code: "invalid_session_field" } });
    expect((huge.json["error"] as Json)["message"]).toContain("16384 bytes");
    const unknown = await call("POST", "/v1/sessions", alice, { name: "x" });
    expect(unknown.json).toMatchObject({ error: { param: "name", code: "invalid_session_field" } });
  });

  it("lists the caller's sessions newest first with cursor pagination, never another key's", async () => {
    const carol = await fx.newKey();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await call("POST", "/v1/sessions", carol, { metadata: { i } })).json["id"] as string);
      await new Promise((r) => setTimeout(r, 2));
    }
    await say(bob, "bobs-own", "not carol's");
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await call("GET", `/v1/sessions?limit=2${after ? `&after=${after}` : ""}`, carol);
      expect(page.status).toBe(200);
      seen.push(...(page.json["data"] as Json[]).map((s) => s["id"] as string));
      after = page.json["next_cursor"] as string | null;
      expect(page.json["has_more"]).toBe(after !== null);
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const bad = await call("GET", "/v1/sessions?after=garbage", carol);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { code: "invalid_cursor", param: "after" } });
    expect((await call("GET", "/v1/sessions?limit=0", carol)).json).toMatchObject({
      error: { param: "limit" },
    });
  });

  it("DELETE removes a session; another key gets 404 for it on GET and DELETE", async () => {
    await say(alice, "to-delete", "bye");
    expect((await call("GET", "/v1/sessions/to-delete", bob)).status).toBe(404);
    expect((await call("DELETE", "/v1/sessions/to-delete", bob)).status).toBe(404);
    const removed = await call("DELETE", "/v1/sessions/to-delete", alice);
    expect(removed.json).toEqual({ id: "to-delete", object: "session.deleted", deleted: true });
    const gone = await call("GET", "/v1/sessions/to-delete", alice);
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ error: { code: "session_not_found", type: "not_found_error" } });
  });

  it("needs an API key", async () => {
    const res = await fetch(`${fx.url}/v1/sessions`);
    expect(res.status).toBe(401);
  });
});

describe("/admin/sessions", () => {
  it("lists every key's sessions (or one key's), shows and deletes any", async () => {
    await say(alice, "admin-view", "for the admin");
    await say(bob, "admin-view", "bob's twin");
    const all = await call("GET", "/admin/sessions?limit=100", "admin");
    const views = (all.json["data"] as Json[]).filter((s) => s["id"] === "admin-view");
    expect(views.map((s) => s["key_id"]).sort()).toEqual([alice.id, bob.id].sort());
    const bobs = await call("GET", `/admin/sessions?key_id=${bob.id}`, "admin");
    expect((bobs.json["data"] as Json[]).every((s) => s["key_id"] === bob.id)).toBe(true);
    const one = await call("GET", `/admin/sessions/${alice.id}/admin-view`, "admin");
    expect(one.json).toMatchObject({ id: "admin-view", key_id: alice.id, message_count: 2 });
    expect((one.json["messages"] as Json[])[0]).toEqual({ role: "user", content: "for the admin" });
    expect((await call("DELETE", `/admin/sessions/${alice.id}/admin-view`, "admin")).status).toBe(200);
    expect((await call("GET", "/v1/sessions/admin-view", alice)).status).toBe(404);
    expect((await call("GET", "/v1/sessions/admin-view", bob)).status).toBe(200);
    // Paging across keys.
    const first = await call("GET", "/admin/sessions?limit=1", "admin");
    const second = await call("GET", `/admin/sessions?limit=1&after=${first.json["next_cursor"]}`, "admin");
    expect((second.json["data"] as Json[])[0]!["id"]).not.toBe((first.json["data"] as Json[])[0]!["id"]);
    // API keys do not open the admin API, and the API listener does not serve it.
    const withKey = await fetch(`${fx.opsUrl}/admin/sessions`, {
      headers: { authorization: `Bearer ${bob.secret}` },
    });
    expect(withKey.status).toBe(401);
    expect((await call("GET", "/admin/sessions", bob)).status).toBe(404);
  });
});

describe("documents and discovery", () => {
  it("/gonka/info lists sessions as a feature", async () => {
    const info = (await (await fetch(`${fx.opsUrl}/gonka/info`)).json()) as { features: Json };
    expect(info.features["sessions"]).toBe(true);
  });

  it("the sessions OpenAPI document is served and names exactly the mounted /v1/sessions routes", async () => {
    const served = (await (await fetch(`${fx.opsUrl}/gonka/openapi/sessions.json`)).json()) as Json;
    expect(served).toEqual(JSON.parse(JSON.stringify(sessionsOpenApi)));
    const dispatch = fx.gateway.app.middleware.find((m) => "router" in m) as unknown as {
      router: { stack: Array<{ path: unknown; methods: string[] }> };
    };
    const mounted = new Set<string>();
    for (const layer of dispatch.router.stack) {
      if (typeof layer.path !== "string" || !layer.path.startsWith("/v1/sessions")) continue;
      for (const m of layer.methods)
        if (m !== "HEAD") mounted.add(`${m} ${layer.path.replace(/:(\w+)/g, "{$1}")}`);
    }
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(sessionsOpenApi.paths)) {
      if (!p.startsWith("/v1/sessions")) continue;
      for (const m of Object.keys(item)) if (m !== "parameters") documented.add(`${m.toUpperCase()} ${p}`);
    }
    expect([...mounted].sort()).toEqual([...documented].sort());
  });

  it("live responses match the documents' schemas", async () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...JSON.parse(JSON.stringify(sessionsOpenApi)), $id: "sessions" });
    ajv.addSchema({ ...JSON.parse(JSON.stringify(adminOpenApi)), $id: "admin" });
    const check = (doc: string, schema: string, value: unknown) => {
      const ok = ajv.validate({ $ref: `${doc}#/components/schemas/${schema}` }, value);
      expect(ok, `${schema}: ${ajv.errorsText()}`).toBe(true);
    };
    const created = await call("POST", "/v1/sessions", alice, { metadata: { doc: true } });
    check("sessions", "SessionWithMessages", created.json);
    await say(alice, created.json["id"] as string, "document me");
    check(
      "sessions",
      "SessionWithMessages",
      (await call("GET", `/v1/sessions/${created.json["id"]}`, alice)).json,
    );
    check("sessions", "SessionList", (await call("GET", "/v1/sessions?limit=1", alice)).json);
    check("sessions", "Error", (await call("GET", "/v1/sessions/nope", alice)).json);
    check("admin", "AdminSessionList", (await call("GET", "/admin/sessions", "admin")).json);
    check(
      "admin",
      "AdminSessionWithMessages",
      (await call("GET", `/admin/sessions/${alice.id}/${created.json["id"]}`, "admin")).json,
    );
    check(
      "sessions",
      "SessionDeleted",
      (await call("DELETE", `/v1/sessions/${created.json["id"]}`, alice)).json,
    );
  });
});
