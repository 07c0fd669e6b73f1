/**
 * Tiering (AGNT-03) over real processes: simulators for a cheap model (qwen3-32b, also the
 * classifier), the premium one (kimi-k2.5) and a fallback (deepseek-v3.1), and a gateway
 * with the router alias `auto`. Default configuration apart from the routers.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient } from "../../harness/adminClient.ts";
import { type SpawnedGateway, spawnGateway } from "../../harness/spawnGateway.ts";
import { type SpawnedSimulator, spawnSimulator } from "../../sim/spawn.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import type { RouterConfigInput } from "../tiering/schema.ts";
import { post, setFaults, simStats } from "./fixtures.ts";
import { until } from "./poll.ts";

const ADMIN_KEY = "test-admin-key-0123456789abcdef";
const ROUTER: RouterConfigInput = {
  alias: "auto",
  classifier: { model: "qwen3-32b", labels: ["easy", "hard"], timeoutMs: 400 },
  rules: [
    { name: "tools", when: { tools: true }, model: "kimi-k2.5", fallback: ["deepseek-v3.1"] },
    {
      name: "reasoning",
      when: { reasoning: true },
      model: "kimi-k2.5",
      fallback: ["deepseek-v3.1"],
      overrideSession: true,
    },
    {
      name: "short-extraction",
      when: { promptTokensAtMost: 300, lastUserMessage: "\\b(classify|extract|label|sentiment)\\b" },
      model: "qwen3-32b",
      fallback: ["kimi-k2.5"],
    },
    { name: "easy", when: { classifier: ["easy"] }, model: "qwen3-32b" },
  ],
  default: { model: "kimi-k2.5", fallback: ["deepseek-v3.1"] },
};
// The classifier's simulator answers by script: "easy" when the question says so, else "hard".
const CLASSIFIER_SCRIPT = {
  rules: [
    {
      match: { systemContains: "Answer with exactly one word", lastUserContains: "easy" },
      reply: { content: "easy" },
    },
    { match: { systemContains: "Answer with exactly one word" }, reply: { content: "hard" } },
  ],
};

let dir: string;
const sims: Record<string, SpawnedSimulator> = {};
let gw: SpawnedGateway;
let admin: ReturnType<typeof adminClient>;
let key: { id: string; secret: string };

const weatherTool = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};
const REQUESTS: Record<string, Record<string, unknown>> = {
  tools: { messages: [{ role: "user", content: "Weather in Paris?" }], tools: [weatherTool] },
  reasoning: { messages: [{ role: "user", content: "Prove it." }], reasoning_effort: "high" },
  "short-extraction": { messages: [{ role: "user", content: "Classify the sentiment: I love this phone." }] },
  easy: { messages: [{ role: "user", content: "An easy one: the capital of France?" }] },
  default: { messages: [{ role: "user", content: "Write a long essay on the history of Rome." }] },
};

async function chat(
  body: Record<string, unknown>,
  secret = key.secret,
  headers: Record<string, string> = {},
) {
  const res = await post(
    `${gw.url}/v1/chat/completions`,
    { model: "auto", max_tokens: 16, ...body },
    { authorization: `Bearer ${secret}`, ...headers },
  );
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, json };
}

async function createKey(body: Record<string, unknown>) {
  const created = await admin("POST", "/admin/keys", body);
  return { id: (created["key"] as { id: string }).id, secret: created["secret"] as string };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gonka-tiering-"));
  const script = join(dir, "classifier.json");
  writeFileSync(script, JSON.stringify(CLASSIFIER_SCRIPT));
  const [qwen, kimi, deepseek] = await Promise.all([
    spawnSimulator({ model: "qwen3-32b", args: ["--script", script] }),
    spawnSimulator({ model: "kimi-k2.5" }),
    spawnSimulator({ model: "deepseek-v3.1" }),
  ]);
  Object.assign(sims, { "qwen3-32b": qwen, "kimi-k2.5": kimi, "deepseek-v3.1": deepseek });
  const config = buildGatewayConfig({
    models: Object.entries(sims).map(([preset, sim]) => ({ preset, replicaUrls: [sim.url] })),
    routers: [ROUTER],
    tiers: {
      enterprise: { requestsPerMinute: 6_000, tokensPerMinute: 20_000_000, concurrentRequests: 256 },
      // One request a minute: the second is refused by the rate limits.
      tiny: { requestsPerMinute: 1, tokensPerMinute: 1_000_000, concurrentRequests: 4 },
    },
  });
  const configPath = join(dir, "gateway.json");
  writeFileSync(configPath, JSON.stringify({ ...config, logLevel: "warn" }));
  gw = await spawnGateway({
    configPath,
    env: { GONKA_DATA_DIR: join(dir, "data"), GONKA_ADMIN_KEY: ADMIN_KEY },
  });
  admin = adminClient(gw.opsUrl, ADMIN_KEY);
  key = await createKey({ name: "tiering", tier: "enterprise" });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all(Object.values(sims).map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe("router alias auto", () => {
  it("sends each kind of request where its rule says, and says so", async () => {
    const served: Record<string, string> = {};
    for (const [rule, body] of Object.entries(REQUESTS)) {
      const res = await chat(body);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.headers.get("x-gonka-route")).toBe(rule);
      expect(res.headers.get("x-gonka-model-requested")).toBe("auto");
      served[rule] = res.json["model"] as string;
      // The classifier is asked only when its rule is reached (the last two requests).
      expect(res.headers.get("x-gonka-classifier")).toBe(
        rule === "easy" ? "easy" : rule === "default" ? "hard" : null,
      );
    }
    // Cheap model for classification-like prompts, K2.5 for tools and reasoning.
    expect(served).toEqual({
      tools: "kimi-k2.5",
      reasoning: "kimi-k2.5",
      "short-extraction": "qwen3-32b",
      easy: "qwen3-32b",
      default: "kimi-k2.5",
    });
    const info = (await (await fetch(`${gw.opsUrl}/gonka/info`)).json()) as {
      features: Record<string, boolean>;
    };
    expect(info.features["tiering"]).toBe(true);
  });

  it("streams the same way: the first chunk names the served model", async () => {
    const res = await post(
      `${gw.url}/v1/chat/completions`,
      { model: "auto", max_tokens: 8, stream: true, ...REQUESTS["short-extraction"] },
      { authorization: `Bearer ${key.secret}` },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gonka-route")).toBe("short-extraction");
    const first = (await res.text()).split("\n\n")[0]!;
    expect(JSON.parse(first.slice("data: ".length)).model).toBe("qwen3-32b");
  });

  it("falls back to the rule's next model when the chosen one answers 503, never to a model the key may not use", async () => {
    await setFaults(sims["kimi-k2.5"]!, [{ mode: "http_503", count: 2 }]);
    const res = await chat(REQUESTS["tools"]!);
    expect(res.status).toBe(200);
    expect(res.json["model"]).toBe("deepseek-v3.1");
    expect(res.headers.get("x-gonka-route")).toBe("tools");

    const noDeepseek = await createKey({
      name: "no-deepseek",
      tier: "enterprise",
      models: ["qwen3-32b", "kimi-k2.5"],
    });
    const deepseekBefore = (await simStats(sims["deepseek-v3.1"]!)).chat;
    await setFaults(sims["kimi-k2.5"]!, [{ mode: "http_503", count: 2 }]);
    const refused = await chat(REQUESTS["tools"]!, noDeepseek.secret);
    expect(refused.status).toBe(503);
    expect((await simStats(sims["deepseek-v3.1"]!)).chat).toBe(deepseekBefore);

    const qwenOnly = await createKey({ name: "qwen-only", tier: "enterprise", models: ["qwen3-32b"] });
    const none = await chat(REQUESTS["tools"]!, qwenOnly.secret);
    expect(none.status).toBe(403);
    expect((none.json["error"] as { code: string }).code).toBe("model_not_allowed");
    // A rule whose model the key may use still serves it.
    expect((await chat(REQUESTS["short-extraction"]!, qwenOnly.secret)).json["model"]).toBe("qwen3-32b");
    await setFaults(sims["kimi-k2.5"]!, []);
  });

  it("goes on without the classifier when it is slow: the request is served by the next rule or the default", async () => {
    // The next request to the classifier's simulator stalls past the router's 400 ms budget.
    await setFaults(sims["qwen3-32b"]!, [{ mode: "stall", ms: 3_000, count: 1 }]);
    const started = Date.now();
    const res = await chat(REQUESTS["easy"]!);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gonka-route")).toBe("default");
    expect(res.json["model"]).toBe("kimi-k2.5");
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("asks the classifier while routing, before the rate limits: a refused request still costs its call", async () => {
    const tiny = await createKey({ name: "tiny", tier: "tiny" });
    const before = (await simStats(sims["qwen3-32b"]!)).chat;
    expect((await chat(REQUESTS["default"]!, tiny.secret)).status).toBe(200);
    const refused = await chat(REQUESTS["default"]!, tiny.secret);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    // Two classifier calls (one per request) and nothing else reached the cheap model.
    expect((await simStats(sims["qwen3-32b"]!)).chat - before).toBe(2);
  });

  it("refuses a bad tier hint and the alias on other endpoints, with OpenAI errors", async () => {
    const hint = await chat(REQUESTS["default"]!, key.secret, { "x-gonka-tier": "gold" });
    expect(hint.status).toBe(400);
    expect(hint.json["error"]).toMatchObject({ param: "x-gonka-tier", code: "invalid_tier_hint" });
    const res = await post(
      `${gw.url}/v1/embeddings`,
      { model: "auto", input: "x" },
      { authorization: `Bearer ${key.secret}` },
    );
    expect(res.status).toBe(400);
  });
});

describe("sessions and tiering", () => {
  it("a conversation stays on the model it started on unless a rule overrides it, also on another replica", async () => {
    const session = { "x-session-id": `conv-${Date.now()}` };
    const turn = async (body: Record<string, unknown>, url = gw.url) => {
      const res = await post(
        `${url}/v1/chat/completions`,
        { model: "auto", max_tokens: 16, ...body },
        { authorization: `Bearer ${key.secret}`, ...session },
      );
      const json = (await res.json()) as { model: string };
      expect(res.status, JSON.stringify(json)).toBe(200);
      return [res.headers.get("x-gonka-route"), json.model];
    };
    expect(await turn(REQUESTS["short-extraction"]!)).toEqual(["short-extraction", "qwen3-32b"]);
    // Tools would pick K2.5, but the conversation's tool ids and format are qwen's now.
    expect(await turn(REQUESTS["tools"]!)).toEqual(["session", "qwen3-32b"]);
    // The reasoning rule says otherwise (overrideSession): the conversation moves to K2.5.
    expect(await turn(REQUESTS["reasoning"]!)).toEqual(["reasoning", "kimi-k2.5"]);
    expect(await turn(REQUESTS["short-extraction"]!)).toEqual(["session", "kimi-k2.5"]);
    const explained = await admin("POST", "/admin/routing/explain", {
      request: { model: "auto", ...REQUESTS["short-extraction"] },
      key_id: key.id,
      session_id: session["x-session-id"],
    });
    expect(explained).toMatchObject({ rule: "session", model: "kimi-k2.5", session: "kimi-k2.5" });

    // A second gateway process on the same data folder knows the session from the usage ledger.
    const other = await spawnGateway({
      configPath: join(dir, "gateway.json"),
      env: { GONKA_DATA_DIR: join(dir, "data"), GONKA_ADMIN_KEY: ADMIN_KEY },
    });
    try {
      await until(
        async () =>
          ((
            (await admin("GET", `/admin/usage?session_id=${session["x-session-id"]}`))["data"] as {
              requests: number;
            }[]
          )[0]?.requests ?? 0) >= 4,
        "the session's rows imported",
      );
      expect(await turn(REQUESTS["short-extraction"]!, other.url)).toEqual(["session", "kimi-k2.5"]);
    } finally {
      await other.stop();
    }
  });
});

describe("explain", () => {
  it("agrees with real routing on every rule", async () => {
    for (const [rule, body] of Object.entries(REQUESTS)) {
      const real = await chat(body);
      const explained = await admin("POST", "/admin/routing/explain", {
        request: { model: "auto", ...body },
        key_id: key.id,
        // What the classifier's simulator answers for this text.
        classifier_verdict: JSON.stringify(body).includes("easy") ? "easy" : "hard",
      });
      expect(explained["rule"]).toBe(rule);
      expect(explained["rule"]).toBe(real.headers.get("x-gonka-route"));
      expect(explained["model"]).toBe(real.json["model"]);
      const trace = explained["trace"] as {
        rule: string;
        matched: boolean;
        conditions: { field: string }[];
      }[];
      expect(trace.filter((t) => t.matched).map((t) => t.rule)).toEqual(rule === "default" ? [] : [rule]);
    }
  });

  it("shows each condition's value, and applies the key's allow-list", async () => {
    const explained = await admin("POST", "/admin/routing/explain", {
      request: { model: "auto", ...REQUESTS["short-extraction"] },
    });
    const trace = explained["trace"] as { rule: string; conditions: Record<string, unknown>[] }[];
    expect(trace[0]).toEqual({
      rule: "tools",
      matched: false,
      conditions: [{ field: "tools", expected: true, actual: false, matched: false }],
    });
    const short = trace.find((t) => t.rule === "short-extraction")!;
    expect(short.conditions.map((c) => [c.field, c.matched])).toEqual([
      ["promptTokensAtMost", true],
      ["lastUserMessage", true],
    ]);
    const noDeepseek = await createKey({ name: "explain", tier: "enterprise", models: ["kimi-k2.5"] });
    const limited = await admin("POST", "/admin/routing/explain", {
      request: { model: "auto", ...REQUESTS["tools"] },
      key_id: noDeepseek.id,
    });
    expect(limited).toMatchObject({ model: "kimi-k2.5", fallback: [] });
  });
});

describe("savings report", () => {
  it("adds up to the usage rows, classifier included, priced at the catalog's prices", async () => {
    const fresh = await createKey({ name: "savings", tier: "enterprise" });
    for (const body of Object.values(REQUESTS)) expect((await chat(body, fresh.secret)).status).toBe(200);
    // Rows reach the store through the journal's batched import: 5 answers, and 2 classifier
    // calls (the "easy" and "default" requests reach the classifier rule).
    const summary = async () =>
      (await admin("GET", `/admin/usage?key_id=${fresh.id}&group_by=model`))["data"] as {
        model: string;
        requests: number;
        prompt_tokens: number;
        completion_tokens: number;
      }[];
    await until(
      async () => (await summary()).reduce((n, r) => n + r.requests, 0) === 7,
      "seven rows imported",
    );
    const rows = (await admin("GET", `/admin/usage/savings?group_by=key&key_id=${fresh.id}`))["data"] as {
      key_id: string;
      requests: number;
      prompt_tokens: number;
      completion_tokens: number;
      models: { model: string; prompt_tokens: number; completion_tokens: number; cost_cents: number }[];
      classifier: { requests: number; prompt_tokens: number; completion_tokens: number; cost_cents: number };
      cost_cents: number;
      baseline_cost_cents: number;
      saved_cents: number;
      baseline_model: string;
    }[];
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.key_id).toBe(fresh.id);
    expect(row.requests).toBe(5);
    expect(row.classifier.requests).toBe(2);
    const all = await summary();
    const sum = (f: "prompt_tokens" | "completion_tokens") => all.reduce((n, r) => n + r[f], 0);
    expect(row.prompt_tokens + row.classifier.prompt_tokens).toBe(sum("prompt_tokens"));
    expect(row.completion_tokens + row.classifier.completion_tokens).toBe(sum("completion_tokens"));
    // Catalog prices in cents per million tokens: kimi-k2.5 60/250, qwen3-32b 8/24.
    const price: Record<string, [number, number]> = { "kimi-k2.5": [60, 250], "qwen3-32b": [8, 24] };
    const cost = (m: string, p: number, c: number) => (p * price[m]![0] + c * price[m]![1]) / 1e6;
    for (const m of row.models)
      expect(m.cost_cents).toBeCloseTo(cost(m.model, m.prompt_tokens, m.completion_tokens), 4);
    expect(row.baseline_model).toBe("kimi-k2.5");
    expect(row.baseline_cost_cents).toBeCloseTo(
      cost("kimi-k2.5", row.prompt_tokens, row.completion_tokens),
      4,
    );
    expect(row.cost_cents).toBeCloseTo(
      row.models.reduce((n, m) => n + m.cost_cents, 0) + row.classifier.cost_cents,
      4,
    );
    expect(row.saved_cents).toBeCloseTo(row.baseline_cost_cents - row.cost_cents, 4);
    expect(row.saved_cents).toBeGreaterThan(0);
  });
});
