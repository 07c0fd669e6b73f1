import { describe, expect, it } from "vitest";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { ConfigError, parseConfig } from "../config/load.ts";
import { checkConditions, decideRoute } from "./evaluate.ts";
import { requestFeatures } from "./features.ts";
import type { RouterConfigInput } from "./schema.ts";

const base = () =>
  buildGatewayConfig({
    models: [
      { preset: "qwen3-32b", replicaUrls: ["http://127.0.0.1:9"] },
      { preset: "kimi-k2.5", replicaUrls: ["http://127.0.0.1:9"] },
      { preset: "qwen3-embedding-0.6b", replicaUrls: ["http://127.0.0.1:9"] },
    ],
  });
const withRouters = (routers: RouterConfigInput[]) => ({ ...base(), routers });
const configError = (routers: RouterConfigInput[]) => {
  try {
    parseConfig(withRouters(routers));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("config was accepted");
};

describe("router config", () => {
  it("names the router, the rule and the field of each mistake", () => {
    const message = configError([
      {
        alias: "auto",
        rules: [
          { name: "ok", when: { tools: true }, model: "kimi-k2.5" },
          { name: "bad-regex", when: { lastUserMessage: "(unclosed" }, model: "qwen3-32b" },
          { name: "ghost", when: { images: true }, model: "gpt-9", fallback: ["qwen3-embedding-0.6b"] },
          { name: "ok", when: { keyTier: ["platinum"] }, model: "qwen3-32b" },
          { name: "judge", when: { classifier: ["easy"] }, model: "qwen3-32b" },
          { name: "empty", when: {}, model: "qwen3-32b" },
        ],
        default: { model: "kimi-k2.5" },
      },
    ]);
    expect(message).toContain(
      'routers.0.rules.1.when.lastUserMessage: router "auto" rule "bad-regex": not a regular expression',
    );
    expect(message).toContain('routers.0.rules.2.model: router "auto" rule "ghost": unknown model "gpt-9"');
    expect(message).toContain(
      'routers.0.rules.2.fallback.0: router "auto" rule "ghost" fallback: model qwen3-embedding-0.6b does not serve chat',
    );
    expect(message).toContain('routers.0.rules.3.name: router "auto" rule "ok": name used twice');
    expect(message).toContain(
      'routers.0.rules.3.when.keyTier: router "auto" rule "ok": unknown tier "platinum"',
    );
    expect(message).toContain("uses a classifier condition but the router has no `classifier`");
    expect(message).toContain(
      'routers.0.rules.5.when: router "auto" rule "empty": give at least one condition',
    );
  });

  it("refuses an alias that is already a model's name, and unknown condition fields", () => {
    expect(configError([{ alias: "kimi-k2.5", rules: [], default: { model: "qwen3-32b" } }])).toContain(
      'routers.0.alias: router "kimi-k2.5": the alias is already the name of model kimi-k2.5',
    );
    expect(
      configError([
        {
          alias: "auto",
          rules: [{ name: "x", when: { tool: true } as never, model: "qwen3-32b" }],
          default: { model: "qwen3-32b" },
        },
      ]),
    ).toMatch(/routers\.0\.rules\.0\.when: .*tool/);
  });

  it("carries the catalog's prices into each model", () => {
    const config = parseConfig(base());
    expect(config.models.find((m) => m.id === "kimi-k2.5")!.price).toEqual({ input: 60, output: 250 });
  });
});

describe("request features", () => {
  it("reads tools, structured output, reasoning, images, the last user message and the tier hint", () => {
    const f = requestFeatures(
      {
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: [{ type: "text", text: "first" }] },
          { role: "assistant", content: "ok" },
          {
            role: "user",
            content: [
              { type: "text", text: "What is in this picture?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
            ],
          },
        ],
        tools: [{ type: "function", function: { name: "f" } }],
        tool_choice: "auto",
        response_format: { type: "json_object" },
        chat_template_kwargs: { thinking: true },
      },
      { tierHint: "economy", keyTier: "free" },
    );
    expect(f).toMatchObject({
      tools: true,
      responseFormat: true,
      reasoning: true,
      reasoningEffort: null,
      images: true,
      lastUserMessage: "What is in this picture?",
      messages: 4,
      tierHint: "economy",
      keyTier: "free",
    });
    expect(f.promptTokens).toBeGreaterThan(10);
    const plain = requestFeatures(
      {
        messages: [{ role: "user", content: "hi" }],
        tools: [{}],
        tool_choice: "none",
        response_format: { type: "text" },
      },
      {},
    );
    expect(plain).toMatchObject({
      tools: false,
      responseFormat: false,
      reasoning: false,
      images: false,
      tierHint: null,
    });
    expect(requestFeatures({ reasoning_effort: "minimal" }, {}).reasoning).toBe(false);
    expect(requestFeatures({ reasoning_effort: "high" }, {}).reasoning).toBe(true);
  });
});

describe("rules", () => {
  const router = parseConfig(
    withRouters([
      {
        alias: "auto",
        classifier: { model: "qwen3-32b", labels: ["easy", "hard"] },
        rules: [
          { name: "premium-hint", when: { tierHint: ["premium"] }, model: "kimi-k2.5" },
          { name: "long", when: { messagesAtLeast: 20 }, model: "kimi-k2.5" },
          { name: "easy", when: { classifier: ["easy"] }, model: "qwen3-32b" },
        ],
        default: { model: "kimi-k2.5", fallback: ["qwen3-32b"] },
      },
    ]),
  ).routers[0]!;
  const msgs = (n: number) => ({
    messages: Array.from({ length: n }, () => ({ role: "user", content: "x" })),
  });

  it("first match wins and the classifier is asked only when a rule needs it, once", async () => {
    let asked = 0;
    const classify = async () => {
      asked++;
      return "easy";
    };
    const hinted = await decideRoute(router, requestFeatures(msgs(1), { tierHint: "premium" }), classify);
    expect([hinted.rule, asked, hinted.classifier]).toEqual(["premium-hint", 0, null]);
    const easy = await decideRoute(router, requestFeatures(msgs(1), {}), classify);
    expect([easy.rule, asked, easy.classifier, easy.models]).toEqual(["easy", 1, "easy", ["qwen3-32b"]]);
    const unsure = await decideRoute(router, requestFeatures(msgs(1), {}), async () => null);
    expect([unsure.rule, unsure.classifier, unsure.models]).toEqual([
      "default",
      "unsure",
      ["kimi-k2.5", "qwen3-32b"],
    ]);
    expect((await decideRoute(router, requestFeatures(msgs(25), {}), classify)).rule).toBe("long");
  });

  it("every condition reports what it saw", () => {
    const f = requestFeatures({ ...msgs(3), reasoning_effort: "low" }, { keyTier: "free" });
    expect(
      checkConditions(
        { messagesAtMost: 2, reasoningEffort: ["low"], keyTier: ["free", "standard"] },
        f,
        null,
      ),
    ).toEqual([
      { field: "reasoningEffort", expected: ["low"], actual: "low", matched: true },
      { field: "messagesAtMost", expected: 2, actual: 3, matched: false },
      { field: "keyTier", expected: ["free", "standard"], actual: "free", matched: true },
    ]);
  });
});
