import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { post, setFaults, simStats } from "./fixtures.ts";
import { until } from "./poll.ts";
import { ADMIN_KEY, type ProcessFixture, startProcessFixture } from "./processFixture.ts";

let fx: ProcessFixture;
let gw: SpawnedGateway;
const logLines: string[] = [];
const chat = { model: "qwen3-32b", max_tokens: 8, messages: [{ role: "user", content: "hi" }] };
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const admin = (method: string, path: string) =>
  fetch(`${gw.opsUrl}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}` } });

beforeAll(async () => {
  fx = await startProcessFixture({
    preset: "qwen3-32b",
    simArgs: ["--tpot-ms", "2"],
    config: (c) => ({
      ...c,
      // A second model (same backend) so a key can be scoped to something other than qwen.
      models: [...(c.models ?? []), { ...c.models![0]!, id: "other-model", aliases: [] }],
      logLevel: "info",
      tiers: {
        roomy: { requestsPerMinute: 10_000, tokensPerMinute: 10_000_000, concurrentRequests: 100 },
        tokens: { requestsPerMinute: 10_000, tokensPerMinute: 2_000, concurrentRequests: 100 },
        narrow: { requestsPerMinute: 10_000, tokensPerMinute: 10_000_000, concurrentRequests: 2 },
        embeddingsOnly: {
          requestsPerMinute: 100,
          tokensPerMinute: 100_000,
          concurrentRequests: 4,
          models: ["embeddings"],
        },
      },
    }),
  });
  gw = await fx.startGateway();
  gw.child.stdout?.on("data", (d: Buffer) => logLines.push(d.toString()));
});
afterAll(() => fx?.close());

describe("API keys", () => {
  it("refuses a missing or unknown key with 401 invalid_api_key, without contacting a backend", async () => {
    const before = await simStats(fx.sims[0]!);
    for (const headers of [{}, bearer("gk-not-a-real-key-000000000000"), { authorization: "Basic abc" }]) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat, headers);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    }
    const after = await simStats(fx.sims[0]!);
    expect(after.chat).toBe(before.chat);
  });

  it("accepts Bearer and api-key headers and puts rate-limit headers on successful responses", async () => {
    const { secret } = await fx.createKey(gw, { name: "headers", tier: "roomy" });
    const a = await post(`${gw.url}/v1/chat/completions`, chat, bearer(secret));
    expect(a.status).toBe(200);
    for (const h of ["requests", "tokens"]) {
      expect(a.headers.get(`x-ratelimit-limit-${h}`)).toMatch(/^\d+$/);
      expect(a.headers.get(`x-ratelimit-remaining-${h}`)).toMatch(/^\d+$/);
      expect(a.headers.get(`x-ratelimit-reset-${h}`)).toBeTruthy();
    }
    const b = await post(`${gw.url}/v1/chat/completions`, chat, { "api-key": secret });
    expect(b.status).toBe(200);
    const stream = await post(`${gw.url}/v1/chat/completions`, { ...chat, stream: true }, bearer(secret));
    expect(stream.headers.get("x-ratelimit-limit-requests")).toBe("10000");
    await stream.text();
  });

  it("refuses models outside the key's or the tier's allow-list with 403", async () => {
    const { secret } = await fx.createKey(gw, { name: "scoped", tier: "roomy", models: ["other-model"] });
    const res = await post(`${gw.url}/v1/chat/completions`, chat, bearer(secret));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("model_not_allowed");
    const tiered = await fx.createKey(gw, { name: "tiered", tier: "embeddingsOnly" });
    expect((await post(`${gw.url}/v1/chat/completions`, chat, bearer(tiered.secret))).status).toBe(403);
    const allowed = await fx.createKey(gw, { name: "alias-scoped", tier: "roomy", models: ["qwen"] });
    expect((await post(`${gw.url}/v1/chat/completions`, chat, bearer(allowed.secret))).status).toBe(200);
  });

  it("stops a revoked key at once and rotation retires the old secret", async () => {
    const { id, secret } = await fx.createKey(gw, { name: "lifecycle", tier: "roomy" });
    expect((await post(`${gw.url}/v1/chat/completions`, chat, bearer(secret))).status).toBe(200);
    const rotated = (await (await admin("POST", `/admin/keys/${id}/rotate`)).json()) as { secret: string };
    expect(rotated.secret).not.toBe(secret);
    expect((await post(`${gw.url}/v1/chat/completions`, chat, bearer(secret))).status).toBe(401);
    expect((await post(`${gw.url}/v1/chat/completions`, chat, bearer(rotated.secret))).status).toBe(200);
    expect((await admin("POST", `/admin/keys/${id}/revoke`)).status).toBe(200);
    const res = await post(`${gw.url}/v1/chat/completions`, chat, bearer(rotated.secret));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/revoked/);
  });

  it("never writes a raw key to the database or the logs", async () => {
    const { secret } = await fx.createKey(gw, { name: "secret-check", tier: "roomy" });
    const marked = { ...chat, messages: [{ role: "user", content: "zebra-prompt-7731" }] };
    await post(`${gw.url}/v1/chat/completions`, marked, bearer(secret));
    await post(`${gw.url}/v1/chat/completions`, marked, bearer(`${secret}x`));
    const dataDir = join(fx.dir, "data");
    const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    expect(files.some((f) => f.name.endsWith(".journal"))).toBe(true);
    for (const file of files) {
      const path = join(file.parentPath, file.name);
      // A sealed journal segment may be imported and deleted between the listing and the read;
      // its rows are then in the database file, which is read too.
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      expect(bytes.includes(secret), path).toBe(false);
    }
    expect(logLines.join("").length).toBeGreaterThan(0);
    expect(logLines.join("")).not.toContain(secret);
    expect(logLines.join("")).not.toContain("zebra-prompt-7731");
  });
});

describe("metering", () => {
  it("bills every request once even when a client repeats one x-request-id, and echoes the client's id", async () => {
    const { id, secret } = await fx.createKey(gw, { name: "dup-ids", tier: "roomy" });
    let prompt = 0;
    let completion = 0;
    for (let i = 0; i < 5; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat, {
        ...bearer(secret),
        "x-request-id": "client-dup-1",
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBe("client-dup-1");
      const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      prompt += body.usage.prompt_tokens;
      completion += body.usage.completion_tokens;
    }
    const res = await admin("GET", `/admin/usage?key_id=${id}`);
    const row = ((await res.json()) as { data: Record<string, number>[] }).data[0]!;
    expect(row["requests"]).toBe(5);
    expect(row["prompt_tokens"]).toBe(prompt);
    expect(row["completion_tokens"]).toBe(completion);
    const db = new Database(join(fx.dir, "data", "gateway.sqlite"), { readonly: true });
    const rows = db
      .prepare("SELECT request_id, client_request_id FROM usage_rows WHERE key_id = ?")
      .all(id) as { request_id: string; client_request_id: string }[];
    db.close();
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(5);
    expect(rows.every((r) => r.request_id.startsWith("req_") && r.client_request_id === "client-dup-1")).toBe(
      true,
    );
  });
});

describe("rate limits", () => {
  it("holds tokens/min within one request's estimate", async () => {
    const { secret } = await fx.createKey(gw, { name: "tokens", tier: "tokens" });
    let used = 0;
    let refused = 0;
    for (let i = 0; i < 40 && refused === 0; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, { ...chat, max_tokens: 100 }, bearer(secret));
      if (res.status === 429) {
        refused++;
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect(res.headers.get("x-ratelimit-remaining-tokens")).toMatch(/^\d+$/);
        break;
      }
      const body = (await res.json()) as { usage: { total_tokens: number } };
      used += body.usage.total_tokens;
    }
    expect(refused).toBe(1);
    const estimate = 100 + Math.ceil(JSON.stringify({ ...chat, max_tokens: 100 }).length / 4);
    expect(used).toBeLessThanOrEqual(2_000);
    expect(used).toBeGreaterThan(2_000 - 2 * estimate);
  });

  it("returns concurrency slots after client aborts and upstream errors", async () => {
    const { secret } = await fx.createKey(gw, { name: "narrow", tier: "narrow" });
    for (let i = 0; i < 2; i++) {
      const res = await post(
        `${gw.url}/v1/chat/completions`,
        { ...chat, stream: true, max_tokens: 500 },
        bearer(secret),
      );
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
    }
    await setFaults(fx.sims[0]!, [{ mode: "http_500", count: 2 }]);
    for (let i = 0; i < 2; i++) {
      expect((await post(`${gw.url}/v1/chat/completions`, chat, bearer(secret))).status).toBe(502);
    }
    const slow = { ...chat, max_tokens: 100 };
    // Slots are released as each request ends: poll until both are free again.
    await until(async () => {
      const both = await Promise.all(
        [0, 1].map(() => post(`${gw.url}/v1/chat/completions`, slow, bearer(secret))),
      );
      await Promise.all(both.map((r) => r.text()));
      return both.every((r) => r.status === 200);
    }, "both concurrency slots free");
    const third = await Promise.all(
      [0, 1, 2].map(() => post(`${gw.url}/v1/chat/completions`, slow, bearer(secret))),
    );
    expect(third.map((r) => r.status).sort()).toEqual([200, 200, 429]);
  });
});
