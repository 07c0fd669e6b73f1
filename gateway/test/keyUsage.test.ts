/**
 * Usage for key holders (`GET /v1/usage`) and CSV on both usage routes, over real gateway
 * and simulator processes: each key sees only its own rows, the admin API sees all.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { post } from "./fixtures.ts";
import { until } from "./poll.ts";
import { ADMIN_KEY, type ProcessFixture, startProcessFixture } from "./processFixture.ts";

let fx: ProcessFixture;
let gw: SpawnedGateway;
let a: { id: string; secret: string };
let b: { id: string; secret: string };
const chat = { model: "qwen3-32b", max_tokens: 8, messages: [{ role: "user", content: "hi" }] };

const get = (url: string, token: string | null, accept?: string) =>
  fetch(url, {
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(accept ? { accept } : {}),
    },
  });
const adminTotal = async () => {
  const res = await get(`${gw.opsUrl}/admin/usage`, ADMIN_KEY);
  return ((await res.json()) as { data: { requests: number }[] }).data[0]?.requests ?? 0;
};

beforeAll(async () => {
  fx = await startProcessFixture({ preset: "qwen3-32b" });
  gw = await fx.startGateway();
  a = await fx.createKey(gw, { name: "a", tier: "standard" });
  b = await fx.createKey(gw, { name: "b", tier: "standard" });
  for (const [key, session] of [
    [a, "-s-a"],
    [a, "s-a"],
    [b, "s-b"],
  ] as const) {
    const res = await post(`${gw.url}/v1/chat/completions`, chat, {
      authorization: `Bearer ${key.secret}`,
      "x-session-id": session,
    });
    expect(res.status).toBe(200);
  }
  // Rows reach the store through the journal's batched import.
  await until(async () => (await adminTotal()) === 3, "three usage rows imported");
});
afterAll(() => fx?.close());

describe("GET /v1/usage", () => {
  it("gives each key its own totals and nothing of other keys", async () => {
    const res = await get(`${gw.url}/v1/usage?group_by=key,session`, a.secret);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      object: string;
      data: { key_id: string; session_id: string; requests: number }[];
    };
    expect(body.object).toBe("list");
    expect(body.data.map((r) => [r.key_id, r.session_id, r.requests]).sort()).toEqual([
      [a.id, "-s-a", 1],
      [a.id, "s-a", 1],
    ]);
    const own = (await (await get(`${gw.url}/v1/usage`, b.secret)).json()) as {
      data: { requests: number; prompt_tokens: number }[];
    };
    expect(own.data).toHaveLength(1);
    expect(own.data[0]!.requests).toBe(1);
    expect(own.data[0]!.prompt_tokens).toBeGreaterThan(0);
    // The caller's own id is accepted; another key's is refused, not ignored.
    expect((await get(`${gw.url}/v1/usage?key_id=${a.id}`, a.secret)).status).toBe(200);
    const other = await get(`${gw.url}/v1/usage?key_id=${b.id}`, a.secret);
    expect(other.status).toBe(400);
    const err = (await other.json()) as { error: { param: string; code: string; type: string } };
    expect(err.error).toMatchObject({
      param: "key_id",
      code: "invalid_usage_query",
      type: "invalid_request_error",
    });
  });

  it("needs a key, validates its query like the admin route, and is not on the operational listener", async () => {
    const anonymous = await get(`${gw.url}/v1/usage`, null);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    const bad = await get(`${gw.url}/v1/usage?group_by=colour`, a.secret);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("group_by");
    expect((await get(`${gw.opsUrl}/v1/usage`, a.secret)).status).toBe(404);
  });
});

describe("CSV (Accept: text/csv)", () => {
  it("on /v1/usage: a header line and the key's rows; client-chosen cells cannot run as formulas", async () => {
    const res = await get(`${gw.url}/v1/usage?group_by=session`, a.secret, "text/csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("vary")).toContain("Accept");
    const lines = (await res.text()).trim().split("\n");
    expect(lines[0]).toBe(
      "session_id,requests,prompt_tokens,completion_tokens,reasoning_tokens,cached_tokens,total_tokens,errors,aborted," +
        "latency_ms_p50,latency_ms_p95,latency_ms_p99,ttft_ms_p50,ttft_ms_p95,ttft_ms_p99",
    );
    const sessions = lines.slice(1).map((l) => l.split(",")[0]);
    expect(sessions.sort()).toEqual(["'-s-a", "s-a"]);
  });

  it("on /admin/usage: every key; JSON stays the default for */* and no Accept", async () => {
    const csv = await (await get(`${gw.opsUrl}/admin/usage?group_by=key`, ADMIN_KEY, "text/csv")).text();
    const rows = csv.trim().split("\n").slice(1);
    expect(rows.map((r) => r.split(",").slice(0, 2)).sort()).toEqual(
      [
        [a.id, "2"],
        [b.id, "1"],
      ].sort(),
    );
    for (const accept of [undefined, "*/*", "application/json, text/csv;q=0.5"]) {
      const res = await get(`${gw.opsUrl}/admin/usage`, ADMIN_KEY, accept);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    }
  });
});
