/**
 * Tiering (AGNT-03), on targets whose /gonka/info reports `tiering` and names its router
 * aliases: a request to an alias is answered by a concrete model the target lists, in
 * OpenAI's shapes, with the rule in `x-gonka-route`; explain (admin) agrees with it.
 */
import { checkSpec, jsonBody } from "../lib/checks.ts";
import type { SuiteContext } from "../lib/suite.ts";
import { assert, type Case, type Skip } from "./types.ts";

function aliasFor(s: SuiteContext, skip: Skip): string {
  const tiering = s.feature("tiering");
  if (!tiering.on) return skip(tiering.reason);
  const alias = s.info?.routers?.[0]?.alias;
  if (!alias) return skip("/gonka/info reports tiering but names no router alias");
  return alias;
}

const REQUESTS = {
  plain: { messages: [{ role: "user", content: "Classify the sentiment of: I love this phone." }] },
  tools: {
    messages: [{ role: "user", content: "What is the weather in Paris?" }],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ],
  },
};

async function routed(s: SuiteContext, alias: string, body: Record<string, unknown>) {
  const res = await s.raw("/v1/chat/completions", {
    method: "POST",
    body: { model: alias, max_tokens: 16, ...body },
  });
  const json = (await jsonBody(res)) as { model: string };
  assert(res.status === 200, `HTTP ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return {
    json,
    route: res.headers.get("x-gonka-route"),
    requested: res.headers.get("x-gonka-model-requested"),
    classifier: res.headers.get("x-gonka-classifier"),
  };
}

export const tieringCases: Case[] = [
  {
    name: "tiering: a router alias is answered by a listed model, in OpenAI's shape, naming the rule that chose it",
    async run(s, skip) {
      const alias = aliasFor(s, skip);
      for (const body of Object.values(REQUESTS)) {
        const r = await routed(s, alias, body);
        checkSpec("CreateChatCompletionResponse", r.json, `chat completion via ${alias}`);
        assert(
          r.json.model !== alias,
          `the response's model is the alias ${alias}, not the model that served`,
        );
        assert(
          s.models.some((m) => m.id === r.json.model),
          `served by ${r.json.model}, which /v1/models does not list`,
        );
        assert(r.route, "no x-gonka-route header");
        assert(r.requested === alias, `x-gonka-model-requested is ${r.requested}, expected ${alias}`);
      }
    },
  },
  {
    name: "tiering: streamed through a router alias, every chunk names the served model",
    async run(s, skip) {
      const alias = aliasFor(s, skip);
      const stream = await s.client.chat.completions.create({
        model: alias,
        max_tokens: 8,
        stream: true,
        messages: REQUESTS.plain.messages as never,
      });
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        assert(chunk.model && chunk.model !== alias, `a chunk names model ${chunk.model}`);
      }
      assert(chunks > 0, "no chunks");
    },
  },
  {
    name: "tiering: explain (admin) names the rule and the model the request was routed to",
    async run(s, skip) {
      const alias = aliasFor(s, skip);
      if (!s.admin) return skip("no admin key or admin URL for this target");
      for (const body of Object.values(REQUESTS)) {
        const real = await routed(s, alias, body);
        const explained = await s.admin.call<{ rule: string; model: string }>(
          "POST",
          "/admin/routing/explain",
          {
            request: { model: alias, max_tokens: 16, ...body },
            ...(s.ownKeyId ? { key_id: s.ownKeyId } : {}),
            // When the router asked its classifier, explain assumes the same verdict.
            ...(real.classifier ? { classifier_verdict: real.classifier } : {}),
          },
        );
        assert(
          explained.rule === real.route,
          `explain chose rule ${explained.rule}; the request took ${real.route}`,
        );
        assert(
          explained.model === real.json.model,
          `explain chose ${explained.model}; ${real.json.model} served`,
        );
      }
    },
  },
];
