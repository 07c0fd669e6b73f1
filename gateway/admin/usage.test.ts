import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageRow } from "../store/testing.ts";
import { adminOpenApi } from "./openapi.ts";
import { type AdminFixture, startAdminFixture } from "./testing.ts";
import { parseTime } from "./usageRoutes.ts";

let fx: AdminFixture;
const T0 = Date.UTC(2025, 0, 31, 13, 0); // 2025-01-31T13:00Z
const HOUR = 3_600_000;

beforeAll(async () => {
  fx = await startAdminFixture();
  // Session s1 on kimi: 100 requests, latency 1..100 ms, ttft 1..100 ms on the even ones only.
  for (let i = 1; i <= 100; i++) {
    await fx.store.usage.record(
      usageRow({
        ts: T0 + (i % 2) * HOUR,
        keyId: "key_a",
        sessionId: "s1",
        modelServed: "kimi-k2.5",
        promptTokens: 10,
        completionTokens: 5,
        reasoningTokens: 2,
        cachedTokens: 1,
        latencyMs: i,
        ttftMs: i % 2 === 0 ? i : null,
        status: i <= 3 ? 500 : 200,
        clientAborted: i === 100,
      }),
    );
  }
  // Session s2 on qwen for another key, next day.
  for (const latencyMs of [300, 100, 200]) {
    await fx.store.usage.record(
      usageRow({
        ts: T0 + 24 * HOUR,
        keyId: "key_b",
        sessionId: "s2",
        modelRequested: "qwen3-32b",
        modelServed: "qwen3-32b",
        promptTokens: 1_000,
        completionTokens: 50,
        reasoningTokens: 0,
        cachedTokens: 0,
        latencyMs,
        ttftMs: 20,
      }),
    );
  }
  // No healthy replica: routed and admitted, never reached a backend, no tokens.
  await fx.store.usage.record(
    usageRow({
      ts: T0,
      keyId: "key_c",
      sessionId: null,
      modelRequested: "deepseek",
      modelServed: "deepseek-v3.1",
      replica: null,
      promptTokens: 0,
      completionTokens: 0,
      reasoningTokens: 0,
      status: 503,
      errorCode: "no_healthy_backend",
      latencyMs: 1,
      ttftMs: null,
    }),
  );
});

afterAll(async () => {
  await fx.close();
});

const usage = async (query: string) => {
  const reply = await fx.call("GET", `/admin/usage${query}`);
  expect(reply.status, reply.text).toBe(200);
  return reply.json;
};

describe("GET /admin/usage", () => {
  it("totals everything in one row without group_by", async () => {
    const body = await usage("");
    expect(body).toMatchObject({ object: "list", group_by: [], period: null });
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toMatchObject({
      requests: 104,
      prompt_tokens: 100 * 10 + 3_000,
      errors: 4,
      aborted: 1,
    });
    expect(Object.keys(body.data[0])).not.toContain("key_id");
  });

  it("groups by session and model: tokens, latency and ttft percentiles (the AGNT-05 dashboard)", async () => {
    const body = await usage("?group_by=session,model");
    expect(body.group_by).toEqual(["session", "model"]);
    const s1 = body.data.find((r: { session_id: string | null }) => r.session_id === "s1");
    expect(s1).toEqual({
      model: "kimi-k2.5",
      session_id: "s1",
      requests: 100,
      prompt_tokens: 1_000,
      completion_tokens: 500,
      reasoning_tokens: 200,
      cached_tokens: 100,
      total_tokens: 1_500,
      errors: 3,
      aborted: 1,
      latency_ms: { p50: 50, p95: 95, p99: 99 },
      // Even values 2..100: nearest rank of 50 values.
      ttft_ms: { p50: 50, p95: 96, p99: 100 },
    });
    const s2 = body.data.find((r: { session_id: string | null }) => r.session_id === "s2");
    expect(s2).toMatchObject({
      model: "qwen3-32b",
      requests: 3,
      total_tokens: 3_150,
      latency_ms: { p50: 200, p95: 300, p99: 300 },
    });
    const refused = body.data.find((r: { session_id: string | null }) => r.session_id === null);
    expect(refused).toMatchObject({
      model: "deepseek-v3.1",
      requests: 1,
      errors: 1,
      ttft_ms: { p50: null, p95: null, p99: null },
    });
  });

  it("groups by key, and filters by key_id, model and session_id", async () => {
    const byKey = await usage("?group_by=key");
    expect(
      byKey.data.map((r: { key_id: string | null; requests: number }) => [r.key_id, r.requests]),
    ).toEqual(
      expect.arrayContaining([
        ["key_a", 100],
        ["key_b", 3],
        ["key_c", 1],
      ]),
    );
    expect((await usage("?key_id=key_b")).data[0].requests).toBe(3);
    expect((await usage("?model=kimi-k2.5")).data[0].requests).toBe(100);
    expect((await usage("?session_id=s2&group_by=model")).data).toEqual([
      expect.objectContaining({ model: "qwen3-32b", requests: 3 }),
    ]);
  });

  it("groups by period (hour, day, month) with repeated or comma-separated group_by", async () => {
    const hours = await usage("?group_by=period&period=hour&key_id=key_a");
    expect(hours.data.map((r: { period: string; requests: number }) => [r.period, r.requests])).toEqual([
      ["2025-01-31T13:00Z", 50],
      ["2025-01-31T14:00Z", 50],
    ]);
    const days = await usage("?group_by=period&group_by=key&period=day");
    expect(days.group_by).toEqual(["period", "key"]);
    expect(
      days.data.map((r: { period: string; key_id: string | null; requests: number }) => [
        r.period,
        r.key_id,
        r.requests,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ["2025-01-31", "key_a", 100],
        ["2025-02-01", "key_b", 3],
      ]),
    );
    const months = await usage("?group_by=period&period=month");
    expect(months.data.map((r: { period: string }) => r.period)).toEqual(["2025-01", "2025-02"]);
  });

  it("takes from/to as unix seconds or ISO dates (from inclusive, to exclusive)", async () => {
    const from = (T0 + 24 * HOUR) / 1000;
    expect((await usage(`?from=${from}`)).data[0].requests).toBe(3);
    expect((await usage("?from=2025-02-01")).data[0].requests).toBe(3);
    expect((await usage("?to=2025-01-31T14:00:00Z")).data[0].requests).toBe(51);
    expect((await usage("?from=2025-01-31T14:00&to=2025-02-01")).data[0].requests).toBe(50);
    expect((await usage("?from=2030-01-01")).data).toEqual([]);
    expect(parseTime("2025-01-31T13:00:00", "from")).toBe(T0);
    expect(parseTime("2025-01-31T15:00:00+02:00", "from")).toBe(T0);
  });

  it.each([
    ["?group_by=tenant", "group_by"],
    ["?group_by=period", "period"],
    ["?period=week", "period"],
    ["?from=yesterday", "from"],
    ["?to=1e9", "to"],
    ["?from=2025-02-01&to=2025-01-01", "to"],
    ["?groupby=key", "groupby"],
  ])("rejects %s naming %s", async (query, param) => {
    const reply = await fx.call("GET", `/admin/usage${query}`);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toMatchObject({
      type: "invalid_request_error",
      code: "invalid_usage_query",
      param,
    });
  });
});

describe("models, tiers and the OpenAPI document", () => {
  it("reports model status from the registry", async () => {
    const reply = await fx.call("GET", "/admin/models");
    expect(reply.json.object).toBe("list");
    expect(reply.json.data).toEqual([
      expect.objectContaining({
        model: "qwen3-32b",
        replicas_total: 1,
        replicas: [expect.objectContaining({ id: expect.any(String) })],
      }),
    ]);
  });

  it("lists the configured tiers in snake_case", async () => {
    const reply = await fx.call("GET", "/admin/tiers");
    expect(reply.json.data.map((t: { name: string }) => t.name)).toEqual(["enterprise", "free", "standard"]);
    expect(reply.json.data[1]).toEqual({
      name: "free",
      requests_per_minute: 60,
      tokens_per_minute: 100_000,
      concurrent_requests: 4,
      models: null,
      session_ttl_seconds: 86_400,
      session_max_messages: 1_000,
      session_max_bytes: 4_194_304,
    });
  });

  it("documents exactly the mounted admin routes", async () => {
    const mounted = new Set<string>();
    for (const layer of adminLayers()) {
      for (const method of layer.methods) {
        if (method !== "HEAD") mounted.add(`${method} ${layer.path.replace(/:(\w+)/g, "{$1}")}`);
      }
    }
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(adminOpenApi.paths)) {
      for (const method of Object.keys(item)) {
        if (method !== "parameters") documented.add(`${method.toUpperCase()} ${p}`);
      }
    }
    expect([...mounted].sort()).toEqual([...documented].sort());
    expect(mounted.size).toBe(16);
    const served = await fx.call("GET", "/admin/openapi.json");
    expect(served.json).toEqual(JSON.parse(JSON.stringify(adminOpenApi)));
    expect(served.json.openapi).toBe("3.1.0");
  });

  it("matches live responses against the document's schemas", async () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...JSON.parse(JSON.stringify(adminOpenApi)), $id: "admin" });
    const check = (schema: string, value: unknown) => {
      const ok = ajv.validate({ $ref: `admin#/components/schemas/${schema}` }, value);
      expect(ok, `${schema}: ${ajv.errorsText()}`).toBe(true);
    };
    const created = await fx.call("POST", "/admin/keys", {
      body: { name: "doc", tier: "free", models: ["qwen3-32b"] },
    });
    check("IssuedKey", created.json);
    check("KeyList", (await fx.call("GET", "/admin/keys")).json);
    check(
      "KeyObject",
      (await fx.call("PATCH", `/admin/keys/${created.json.key.id}`, { body: { name: "doc2" } })).json,
    );
    check("UsageList", await usage("?group_by=key,model,session,period&period=day"));
    check("UsageList", await usage(""));
    check("ModelStatusList", (await fx.call("GET", "/admin/models")).json);
    check("TierList", (await fx.call("GET", "/admin/tiers")).json);
    check("Error", (await fx.call("GET", "/admin/keys/key_missing")).json);
    check("Error", (await fx.call("GET", "/admin/keys", { token: null })).json);
  });
});

/** The operational router's layers under /admin (@koa/router's dispatch middleware points back at its router). */
function adminLayers(): Array<{ path: string; methods: string[] }> {
  type Layer = { path: unknown; methods: string[] };
  const dispatch = fx.gateway.opsApp.middleware.find((m) => "router" in m) as unknown as {
    router: { stack: Layer[] };
  };
  return dispatch.router.stack.filter(
    (l): l is { path: string; methods: string[] } =>
      typeof l.path === "string" && l.path.startsWith("/admin"),
  );
}
