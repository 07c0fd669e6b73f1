/**
 * Errors: each status a client must handle, its body in OpenAI's error shape,
 * and the openai client raising the matching typed error.
 */
import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from "openai";
import { checkErrorShape, checkRateLimitHeaders, checkRequestId, jsonBody } from "../lib/checks.ts";
import { tierExtremes } from "../lib/gonka.ts";
import { postOversized } from "../lib/oversized.ts";
import type { SuiteContext } from "../lib/suite.ts";
import { assert, type Case, expectClientError, modelFor, type Skip } from "./types.ts";

const tiny = (model: string) => ({
  model,
  messages: [{ role: "user" as const, content: "hi" }],
  max_tokens: 1,
});

async function expectError(res: Response, status: number): Promise<{ error: { code: string | null } }> {
  const body = await jsonBody(res);
  checkErrorShape(res.status, body, status);
  checkRequestId(res.headers);
  return body as { error: { code: string | null } };
}

function needKeys(s: SuiteContext, skip: Skip): void {
  const keys = s.feature("api_keys");
  if (!keys.on) skip(keys.reason);
}

function needAdmin(s: SuiteContext, skip: Skip): NonNullable<SuiteContext["admin"]> {
  needKeys(s, skip);
  const admin = s.feature("admin");
  if (!admin.on) return skip(admin.reason);
  if (!s.admin) {
    return skip(
      "no admin key or admin URL for this target (pass --admin-key and --admin-url, or GONKA_ADMIN_KEY and GONKA_ADMIN_URL)",
    );
  }
  return s.admin;
}

export const errorCases: Case[] = [
  {
    name: "401: a request without an API key is refused",
    async run(s, skip) {
      needKeys(s, skip);
      const model = modelFor(s, "chat", skip);
      await expectError(await s.raw("/v1/chat/completions", { body: tiny(model), auth: false }), 401);
      await expectClientError(
        s.clientWith(undefined).chat.completions.create(tiny(model)),
        AuthenticationError,
        401,
      );
    },
  },
  {
    name: "401: an invalid API key is refused",
    async run(s, skip) {
      needKeys(s, skip);
      const model = modelFor(s, "chat", skip);
      const bogus = "gk-conformance-not-a-real-key-000000000000";
      await expectError(await s.raw("/v1/chat/completions", { body: tiny(model), auth: bogus }), 401);
      await expectClientError(
        s.clientWith(bogus).chat.completions.create(tiny(model)),
        AuthenticationError,
        401,
      );
      // Clients test a key with models.list(): it must fail there too, as on OpenAI.
      await expectError(await s.raw("/v1/models", { auth: bogus }), 401);
      await expectClientError(s.clientWith(bogus).models.list(), AuthenticationError, 401);
    },
  },
  {
    name: "403: a key restricted to one model may not use another (model_not_allowed)",
    async run(s, skip) {
      const admin = needAdmin(s, skip);
      const chat = s.modelsWith("chat");
      if (chat.length < 2) return skip("the target lists fewer than two chat models");
      const [allowed, other] = [chat[0]!, chat[1]!];
      const { highest } = tierExtremes(await admin.tiers());
      const key = await admin.createKey("conformance-403", highest.name, [allowed]);
      const ok = await s.clientWith(key.secret).chat.completions.create(tiny(allowed));
      assert(ok.choices.length > 0, "the allowed model did not answer");
      const body = await expectError(
        await s.raw("/v1/chat/completions", { body: tiny(other), auth: key.secret }),
        403,
      );
      assert(body.error.code === "model_not_allowed", `code ${body.error.code}, expected model_not_allowed`);
      await expectClientError(
        s.clientWith(key.secret).chat.completions.create(tiny(other)),
        PermissionDeniedError,
        403,
      );
    },
  },
  {
    name: "404: an unknown model is not found",
    async run(s) {
      const model = "conformance-no-such-model";
      await expectError(await s.raw("/v1/chat/completions", { body: tiny(model) }), 404);
      await expectClientError(s.client.chat.completions.create(tiny(model)), NotFoundError, 404);
      await expectClientError(s.client.models.retrieve(model), NotFoundError, 404);
    },
  },
  {
    name: "404: an unknown route is not found",
    async run(s) {
      await expectError(await s.raw("/v1/conformance-no-such-route"), 404);
      await expectError(await s.raw("/v1/conformance-no-such-route", { body: {} }), 404);
      await expectClientError(s.client.get("/conformance-no-such-route"), NotFoundError, 404);
    },
  },
  {
    name: "400: a body that is not JSON is a bad request",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      await expectError(
        await s.raw("/v1/chat/completions", { body: `{"model":"${model}","messages":[` }),
        400,
      );
    },
  },
  {
    name: "400: invalid parameters are a bad request",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      await expectError(
        await s.raw("/v1/chat/completions", { body: { ...tiny(model), temperature: 5 } }),
        400,
      );
      await expectError(await s.raw("/v1/chat/completions", { body: { model, messages: [] } }), 400);
      await expectClientError(
        s.client.chat.completions.create({ ...tiny(model), temperature: 5 }),
        BadRequestError,
        400,
      );
    },
  },
  {
    name: "400 from the backend (max_tokens beyond the context window) arrives in OpenAI's error shape",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      // Just past the context window: the backend refuses it, yet it stays far below any tier's
      // tokens/minute, which the gateway would otherwise answer with a 429 "request too large".
      const context = s.models.find((m) => m.id === model)?.contextLength ?? 1_000_000;
      const body = { ...tiny(model), max_tokens: context + 1 };
      await expectError(await s.raw("/v1/chat/completions", { body }), 400);
      await expectClientError(s.client.chat.completions.create(body), BadRequestError, 400);
    },
  },
  {
    name: "413: an oversized body is refused before it reaches a backend",
    async run(s) {
      const limit = Number(process.env["CONFORMANCE_BODY_LIMIT_BYTES"] ?? 8 * 1024 * 1024);
      const res = await postOversized(
        `${s.baseUrl}/v1/chat/completions`,
        limit + 1024,
        s.apiKey ? { authorization: `Bearer ${s.apiKey}` } : {},
      );
      checkRequestId(res.headers);
      let body: unknown;
      try {
        body = JSON.parse(res.text);
      } catch {
        body = res.text;
      }
      checkErrorShape(res.status, body, 413);
    },
  },
  {
    name: "429: exceeding the lowest tier's requests/minute is refused with Retry-After and x-ratelimit-*",
    timeoutMs: 90_000,
    async run(s, skip) {
      const admin = needAdmin(s, skip);
      const limits = s.feature("rate_limits");
      if (!limits.on) return skip(limits.reason);
      const model = modelFor(s, "chat", skip);
      const { lowest } = tierExtremes(await admin.tiers());
      if (lowest.requestsPerMinute > 1_000)
        skip(`the lowest tier allows ${lowest.requestsPerMinute} requests/minute`);
      const key = await admin.createKey("conformance-429", lowest.name);
      const hit = await burstUntil429(
        s,
        key.secret,
        model,
        lowest.requestsPerMinute + 1,
        lowest.concurrentRequests,
      );
      assert(hit, `${lowest.requestsPerMinute + 1} requests on tier "${lowest.name}" never got a 429`);
      checkRateLimitHeaders(hit.headers);
      checkErrorShape(429, hit.body, 429);
      await expectClientError(
        s.clientWith(key.secret).chat.completions.create(tiny(model)),
        RateLimitError,
        429,
      );
    },
  },
];

/** Up to `total` tiny requests, at most `concurrency` at once; stops at the first 429. */
async function burstUntil429(
  s: SuiteContext,
  key: string,
  model: string,
  total: number,
  concurrency: number,
): Promise<{ headers: Headers; body: unknown } | undefined> {
  let sent = 0;
  let hit: { headers: Headers; body: unknown } | undefined;
  const worker = async () => {
    while (!hit && sent < total) {
      sent++;
      const res = await s.raw("/v1/chat/completions", { body: tiny(model), auth: key });
      if (res.status === 429) hit ??= { headers: res.headers, body: await jsonBody(res) };
      else await res.body?.cancel();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(4, concurrency)) }, worker));
  return hit;
}
