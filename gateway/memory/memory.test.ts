/**
 * `/v1/memory` end to end: a gateway process on its SQLite store, the simulator's embedding
 * backend behind it (feature hashing of words: texts sharing words are similar), real HTTP.
 */
import { join } from "node:path";
import Router from "@koa/router";
import { Ajv2020 } from "ajv/dist/2020.js";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient } from "../../harness/adminClient.ts";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { until } from "../test/poll.ts";
import { ADMIN_KEY, type ProcessFixture, startProcessFixture } from "../test/processFixture.ts";
import { memoryOpenApi } from "./openapi.ts";
import { mountMemoryRoutes } from "./routes.ts";
import type { MemoryRepository } from "./types.ts";

let fx: ProcessFixture;
let gw: SpawnedGateway;
let keyA: string;
let keyAId: string;
let keyB: string;
let small: string;

const call = (secret: string, method: string, path: string, body?: unknown) =>
  fetch(`${gw.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
const json = async (res: Response) => (await res.json()) as Record<string, any>;
const embeddingCalls = async () => {
  const stats = (await (await fetch(`${fx.sims[0]!.url}/sim/stats`)).json()) as {
    byPath: Record<string, number>;
  };
  return stats.byPath["/v1/embeddings"] ?? 0;
};

beforeAll(async () => {
  fx = await startProcessFixture({
    preset: "qwen3-embedding-0.6b",
    config: (c) => ({
      ...c,
      tiers: {
        standard: { requestsPerMinute: 10_000, tokensPerMinute: 10_000_000, concurrentRequests: 100 },
        small: { requestsPerMinute: 10_000, tokensPerMinute: 10_000_000, concurrentRequests: 100 },
        slow: { requestsPerMinute: 2, tokensPerMinute: 10_000_000, concurrentRequests: 100 },
        chatOnly: {
          requestsPerMinute: 100,
          tokensPerMinute: 10_000_000,
          concurrentRequests: 100,
          models: ["kimi-k2.5"],
        },
      },
      memory: {
        quotas: { small: { itemsPerNamespace: 2, bytesPerItem: 200 } },
        sweepIntervalMs: 200,
      },
    }),
  });
  gw = await fx.startGateway();
  ({ secret: keyA, id: keyAId } = await fx.createKey(gw, { name: "a", tier: "standard" }));
  ({ secret: keyB } = await fx.createKey(gw, { name: "b", tier: "standard" }));
  ({ secret: small } = await fx.createKey(gw, { name: "small", tier: "small" }));
});
afterAll(() => fx?.close());

describe("/v1/memory", () => {
  it("puts, gets, replaces and deletes an item; re-embeds only when the text changes", async () => {
    const before = await embeddingCalls();
    const put = await call(keyA, "PUT", "/v1/memory/notes/fav-color", {
      value: "My favourite colour is blue",
      metadata: { topic: "preferences" },
    });
    expect(put.status).toBe(201);
    const item = await json(put);
    expect(item).toMatchObject({
      object: "memory.item",
      namespace: "notes",
      key: "fav-color",
      value: "My favourite colour is blue",
      metadata: { topic: "preferences" },
      expires_at: null,
    });
    expect(item["embedding"]).toBeUndefined();
    expect(await embeddingCalls()).toBe(before + 1);

    const got = await call(keyA, "GET", "/v1/memory/notes/fav-color");
    expect(got.status).toBe(200);
    expect(await json(got)).toEqual(item);

    // Same text, new metadata: stored without another embedding call.
    const same = await call(keyA, "PUT", "/v1/memory/notes/fav-color", {
      value: "My favourite colour is blue",
      metadata: { topic: "colours" },
    });
    expect(same.status).toBe(200);
    expect((await json(same))["metadata"]).toEqual({ topic: "colours" });
    expect(await embeddingCalls()).toBe(before + 1);

    // New text: embedded again, and search follows the new text.
    await call(keyA, "PUT", "/v1/memory/notes/fav-color", { value: "My favourite colour is green" });
    expect(await embeddingCalls()).toBe(before + 2);
    const search = await json(await call(keyA, "POST", "/v1/memory/notes/search", { query: "green colour" }));
    expect(search["data"][0]).toMatchObject({ key: "fav-color", value: "My favourite colour is green" });

    const del = await call(keyA, "DELETE", "/v1/memory/notes/fav-color");
    expect(await json(del)).toEqual({
      object: "memory.item.deleted",
      namespace: "notes",
      key: "fav-color",
      deleted: true,
    });
    expect((await call(keyA, "GET", "/v1/memory/notes/fav-color")).status).toBe(404);
    const again = await call(keyA, "DELETE", "/v1/memory/notes/fav-color");
    expect(again.status).toBe(404);
    expect((await json(again))["error"]).toMatchObject({
      type: "not_found_error",
      code: "memory_item_not_found",
    });
  });

  it("searches by meaning, best first with scores, filters before top-k, and meters each embedding", async () => {
    const items: Array<[string, string, Record<string, unknown>]> = [
      ["paris", "The Eiffel tower is in Paris France", { kind: "travel", year: 2024 }],
      ["rome", "The Colosseum is in Rome Italy", { kind: "travel", year: 2023 }],
      ["pasta", "Cook pasta in salted boiling water", { kind: "recipe", year: 2024 }],
      ["tower", "A tower of pancakes in Paris", { kind: "recipe", year: 2022 }],
    ];
    for (const [key, value, metadata] of items) {
      expect((await call(keyA, "PUT", `/v1/memory/kb/${key}`, { value, metadata })).status).toBe(201);
    }
    const res = await call(keyA, "POST", "/v1/memory/kb/search", { query: "Eiffel tower Paris", top_k: 2 });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body["object"]).toBe("list");
    expect(body["model"]).toBe("qwen3-embedding-0.6b");
    expect(body["usage"]["prompt_tokens"]).toBeGreaterThan(0);
    expect(body["data"].map((d: { key: string }) => d.key)).toEqual(["paris", "tower"]);
    expect(body["data"][0]["score"]).toBeGreaterThan(body["data"][1]["score"]);

    // The two nearest items are not recipes: the filter applies first, so top_k=2 still gives 2.
    const recipes = await json(
      await call(keyA, "POST", "/v1/memory/kb/search", {
        query: "Eiffel tower Paris",
        top_k: 2,
        filter: { kind: "recipe" },
      }),
    );
    expect(recipes["data"].map((d: { key: string }) => d.key)).toEqual(["tower", "pasta"]);
    const years = await json(
      await call(keyA, "POST", "/v1/memory/kb/search", {
        query: "Eiffel tower Paris",
        filter: { year: { $in: [2023, 2022] }, kind: { $eq: "travel" } },
      }),
    );
    expect(years["data"].map((d: { key: string }) => d.key)).toEqual(["rome"]);

    // One usage row per embedding call, under the calling key, on the embeddings endpoint.
    const admin = adminClient(gw.opsUrl, ADMIN_KEY);
    await until(async () => {
      const usage = await admin("GET", `/admin/usage?key_id=${keyAId}&group_by=model`);
      const row = (usage["data"] as Array<Record<string, number | string>>)[0];
      return row?.["model"] === "qwen3-embedding-0.6b" && Number(row["requests"]) >= 3 + 4 + 3;
    }, "usage rows for memory embeddings");
  });

  it("pages through a namespace with a cursor", async () => {
    for (const k of ["e", "b", "d", "a", "c"])
      await call(keyA, "PUT", `/v1/memory/paged/${k}`, { value: `item ${k}` });
    const keys: string[] = [];
    let after = "";
    for (let i = 0; i < 5; i++) {
      const page = await json(
        await call(keyA, "GET", `/v1/memory/paged?limit=2${after ? `&after=${after}` : ""}`),
      );
      expect(page["object"]).toBe("list");
      keys.push(...page["data"].map((d: { key: string }) => d.key));
      if (!page["has_more"]) break;
      after = page["next_cursor"];
    }
    expect(keys).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("answers another key's items with 404 and shows it nothing", async () => {
    await call(keyA, "PUT", "/v1/memory/private/secret", { value: "launch codes" });
    expect((await call(keyB, "GET", "/v1/memory/private/secret")).status).toBe(404);
    expect((await call(keyB, "DELETE", "/v1/memory/private/secret")).status).toBe(404);
    expect((await json(await call(keyB, "GET", "/v1/memory/private")))["data"]).toEqual([]);
    const search = await json(
      await call(keyB, "POST", "/v1/memory/private/search", { query: "launch codes" }),
    );
    expect(search["data"]).toEqual([]);
    // Key B writing the same name makes its own item; A's is untouched.
    expect((await call(keyB, "PUT", "/v1/memory/private/secret", { value: "b's own" })).status).toBe(201);
    expect((await json(await call(keyA, "GET", "/v1/memory/private/secret")))["value"]).toBe("launch codes");
    expect(
      (await call("gk-not-a-key-000000000000000000000", "GET", "/v1/memory/private/secret")).status,
    ).toBe(401);
  });

  it("enforces the tier's quotas with clear errors and changes nothing", async () => {
    const before = await embeddingCalls();
    const big = await call(small, "PUT", "/v1/memory/q/big", {
      value: "x".repeat(150),
      metadata: { pad: "y".repeat(60) },
    });
    expect(big.status).toBe(400);
    expect((await json(big))["error"]).toMatchObject({
      type: "invalid_request_error",
      code: "memory_item_too_large",
      param: "value",
      message: expect.stringMatching(/allows 200 bytes per item/),
    });
    expect(await embeddingCalls()).toBe(before);
    expect((await call(small, "PUT", "/v1/memory/q/one", { value: "one" })).status).toBe(201);
    expect((await call(small, "PUT", "/v1/memory/q/two", { value: "two" })).status).toBe(201);
    const beforeFull = await embeddingCalls();
    const full = await call(small, "PUT", "/v1/memory/q/three", { value: "three" });
    expect(full.status).toBe(403);
    expect((await json(full))["error"]).toMatchObject({
      type: "insufficient_quota",
      code: "memory_items_quota_exceeded",
      message: expect.stringMatching(/already holds 2 items/),
    });
    expect((await call(small, "GET", "/v1/memory/q/three")).status).toBe(404);
    expect(await embeddingCalls()).toBe(beforeFull);
    // Replacing an item is fine at the cap; another namespace has its own count.
    expect((await call(small, "PUT", "/v1/memory/q/two", { value: "two again" })).status).toBe(200);
    expect((await call(small, "PUT", "/v1/memory/q2/three", { value: "three" })).status).toBe(201);
  });

  it("applies the key's rate limits to the routes that embed, as to /v1/embeddings", async () => {
    const { secret } = await fx.createKey(gw, { name: "slow", tier: "slow" });
    expect((await call(secret, "PUT", "/v1/memory/rl/a", { value: "first" })).status).toBe(201);
    expect((await call(secret, "POST", "/v1/memory/rl/search", { query: "first" })).status).toBe(200);
    const before = await embeddingCalls();
    const limited = await call(secret, "POST", "/v1/memory/rl/search", { query: "first" });
    expect(limited.status).toBe(429);
    expect((await json(limited))["error"]["code"]).toBe("rate_limit_exceeded");
    expect(limited.headers.get("retry-after")).toBeTruthy();
    expect(await embeddingCalls()).toBe(before);
    // Reading does not call a model and is not limited here.
    expect((await call(secret, "GET", "/v1/memory/rl/a")).status).toBe(200);
  });

  it("refuses PUT and search with 403 model_not_allowed when the tier may not use the embedding model", async () => {
    const { secret } = await fx.createKey(gw, { name: "chat-only", tier: "chatOnly" });
    const before = await embeddingCalls();
    for (const [method, path, body] of [
      ["PUT", "/v1/memory/x/a", { value: "text" }],
      ["POST", "/v1/memory/x/search", { query: "text" }],
    ] as const) {
      const res = await call(secret, method, path, body);
      expect(res.status).toBe(403);
      expect((await json(res))["error"]["code"]).toBe("model_not_allowed");
    }
    expect(await embeddingCalls()).toBe(before);
  });

  it("refuses bad input with a 400 naming the field, before embedding anything", async () => {
    const before = await embeddingCalls();
    const cases: Array<[string, string, unknown, string | null]> = [
      ["PUT", "/v1/memory/notes/k", {}, "value"],
      ["PUT", "/v1/memory/notes/k", { value: 42 }, "value"],
      ["PUT", "/v1/memory/notes/k", { value: "v", metadata: [1] }, "metadata"],
      ["PUT", "/v1/memory/notes/k", { value: "v", ttl_seconds: 0 }, "ttl_seconds"],
      ["PUT", "/v1/memory/notes/k", { value: "v", ttl_seconds: 1.5 }, "ttl_seconds"],
      ["PUT", "/v1/memory/notes/k", { value: "v", extra: 1 }, "extra"],
      ["PUT", "/v1/memory/bad%20name/k", { value: "v" }, "namespace"],
      ["PUT", `/v1/memory/notes/${"k".repeat(129)}`, { value: "v" }, "key"],
      ["PUT", "/v1/memory/notes/k", "{not json", null],
      ["POST", "/v1/memory/notes/search", { query: "" }, "query"],
      ["POST", "/v1/memory/notes/search", { query: "q", top_k: 0 }, "top_k"],
      ["POST", "/v1/memory/notes/search", { query: "q", top_k: 101 }, "top_k"],
      ["POST", "/v1/memory/notes/search", { query: "q", filter: { a: { $gt: 1 } } }, "filter"],
      ["POST", "/v1/memory/notes/search", { query: "q", filter: { a: { $in: [] } } }, "filter"],
      ["POST", "/v1/memory/notes/search", { query: "q", filter: { a: [1, 2] } }, "filter"],
      ["POST", "/v1/memory/notes/search", { query: "q", filter: { a: { b: 1 } } }, "filter"],
      ["GET", "/v1/memory/notes?limit=0", undefined, "limit"],
    ];
    for (const [method, path, body, param] of cases) {
      const res = await call(keyA, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      const error = (await json(res))["error"];
      expect(error["type"]).toBe("invalid_request_error");
      expect(error["param"], `${method} ${path} ${JSON.stringify(body)}`).toBe(param);
    }
    expect((await call(keyA, "GET", "/v1/memory/notes/k")).status).toBe(404);
    expect(await embeddingCalls()).toBe(before);
  });

  it("expires items after ttl_seconds and sweeps them from the store", async () => {
    const res = await call(keyA, "PUT", "/v1/memory/ttl/brief", { value: "gone soon", ttl_seconds: 1 });
    const item = await json(res);
    expect(item["expires_at"]).toBe(item["created_at"] + 1);
    expect((await call(keyA, "GET", "/v1/memory/ttl/brief")).status).toBe(200);
    await until(
      async () => (await call(keyA, "GET", "/v1/memory/ttl/brief")).status === 404,
      "item expired",
      {
        timeoutMs: 5_000,
        intervalMs: 100,
      },
    );
    expect(
      (await json(await call(keyA, "POST", "/v1/memory/ttl/search", { query: "gone soon" })))["data"],
    ).toEqual([]);
    const rows = () => {
      const db = new Database(join(fx.dir, "data", "gateway.sqlite"), { readonly: true });
      try {
        return db.prepare("SELECT count(*) AS n FROM memory_items WHERE namespace = 'ttl'").get() as {
          n: number;
        };
      } finally {
        db.close();
      }
    };
    await until(() => rows().n === 0, "expired item swept", { timeoutMs: 5_000, intervalMs: 100 });
  });

  it("keeps items and search across a gateway restart, and lists memory in /gonka/info", async () => {
    const info = await json(await fetch(`${gw.opsUrl}/gonka/info`));
    expect(info["features"]["memory"]).toBe(true);
    await call(keyA, "PUT", "/v1/memory/durable/fact", { value: "Water boils at 100 degrees" });
    await gw.stop();
    gw = await fx.startGateway();
    const found = await json(await call(keyA, "POST", "/v1/memory/durable/search", { query: "boils water" }));
    expect(found["data"][0]).toMatchObject({ key: "fact", value: "Water boils at 100 degrees" });
  });

  it("documents exactly the mounted routes, serves the document, and answers in its shapes", async () => {
    const router = new Router();
    const noop = async () => {};
    mountMemoryRoutes(router as never, {
      memory: {} as MemoryRepository,
      config: {} as never,
      embed: noop as never,
      modelId: "m",
      registry: {} as never,
      auth: [],
      body: noop,
    });
    const mounted = new Set<string>();
    for (const layer of router.stack) {
      for (const method of layer.methods) {
        if (method !== "HEAD") mounted.add(`${method} ${String(layer.path).replace(/:(\w+)/g, "{$1}")}`);
      }
    }
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(memoryOpenApi.paths)) {
      for (const method of Object.keys(item))
        if (method !== "parameters") documented.add(`${method.toUpperCase()} ${p}`);
    }
    expect([...mounted].sort()).toEqual([...documented].sort());
    const served = await json(await fetch(`${gw.opsUrl}/gonka/openapi/memory.json`));
    expect(served).toEqual(JSON.parse(JSON.stringify(memoryOpenApi)));

    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...JSON.parse(JSON.stringify(memoryOpenApi)), $id: "memory" });
    const check = (schema: string, value: unknown) =>
      expect(
        ajv.validate({ $ref: `memory#/components/schemas/${schema}` }, value),
        `${schema}: ${ajv.errorsText()}`,
      ).toBe(true);
    const body = { value: "documented item", metadata: { a: 1 }, ttl_seconds: 600 };
    check("PutMemoryItem", body);
    check("MemoryItem", await json(await call(keyA, "PUT", "/v1/memory/doc/one", body)));
    check("MemoryItem", await json(await call(keyA, "GET", "/v1/memory/doc/one")));
    check("MemoryItemList", await json(await call(keyA, "GET", "/v1/memory/doc?limit=1")));
    const search = { query: "documented", top_k: 3, filter: { a: { $in: [1, 2] } } };
    check("SearchMemory", search);
    const found = await json(await call(keyA, "POST", "/v1/memory/doc/search", search));
    expect(found["data"]).toHaveLength(1);
    check("MemorySearchResult", found);
    check("DeletedMemoryItem", await json(await call(keyA, "DELETE", "/v1/memory/doc/one")));
    check("Error", await json(await call(keyA, "GET", "/v1/memory/doc/one")));
  });
});

describe("/v1/memory without an embedding model", () => {
  it("is off: no routes, and /gonka/info says memory: false", async () => {
    const plain = await startProcessFixture({ preset: "qwen3-32b" });
    try {
      const g = await plain.startGateway();
      const info = await json(await fetch(`${g.opsUrl}/gonka/info`));
      expect(info["features"]["memory"]).toBe(false);
      const { secret } = await plain.createKey(g, { name: "k", tier: "free" });
      const res = await fetch(`${g.url}/v1/memory/notes/k`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(res.status).toBe(404);
      expect((await json(res))["error"]["code"]).toBe("unknown_url");
    } finally {
      await plain.close();
    }
  });
});
