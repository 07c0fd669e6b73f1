/**
 * Tiering for operators: `POST /admin/routing/explain` dry-runs a request through the router
 * rules with the same code real routing uses (never calling a model), and
 * `GET /admin/usage/savings` prices what tiered requests used against what the router's
 * baseline model would have cost for the same tokens.
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import { z } from "zod";
import type { ModelConfig } from "../config/schema.ts";
import { errors } from "../errors.ts";
import type { GatewayState } from "../state.ts";
import type { Store } from "../store/index.ts";
import type { AliasRouter } from "../tiering/aliasRouter.ts";
import { savingsRows } from "../tiering/savings.ts";
import type { RouterConfig } from "../tiering/schema.ts";
import { parseUsageQuery } from "./usageRoutes.ts";
import { type FieldHelp, invalidField, parseOr400 } from "./validate.ts";

export interface RoutingDeps {
  readonly store: Store;
  readonly routers: readonly RouterConfig[];
  readonly models: readonly ModelConfig[];
  /** The gateway's alias router; absent when no router is configured. */
  readonly aliases: () => AliasRouter | undefined;
}

const CODE = "invalid_explain_request";
const HELP: FieldHelp = {
  request: "`request` must be a chat completion request body whose `model` is a router alias.",
  key_id: "`key_id` must be a key id: its tier and allow-list then apply.",
  tier_hint: "`tier_hint` is what the `x-gonka-tier` header would say: economy or premium.",
  classifier_verdict:
    "`classifier_verdict` is the classifier's answer to assume (explain never calls a model).",
  session_id:
    "`session_id` is an X-Session-Id: a conversation keeps the model that answered it (with `key_id`).",
};
const explainBody = z.strictObject({
  request: z.looseObject({ model: z.string() }),
  key_id: z.string().min(1).max(200).optional(),
  tier_hint: z.string().max(40).optional(),
  classifier_verdict: z.string().max(40).optional(),
  session_id: z.string().min(1).max(256).optional(),
});

export function mountRoutingRoutes(
  router: Router<GatewayState>,
  guard: Middleware<GatewayState>,
  body: Middleware<GatewayState>,
  deps: RoutingDeps,
): void {
  router.post("/admin/routing/explain", guard, body, async (ctx) => {
    const input = parseOr400(explainBody, ctx.state.body, CODE, HELP, "field");
    const aliases = deps.aliases();
    if (!aliases?.has(input.request.model)) {
      const known = deps.routers.map((r) => r.alias);
      throw invalidField(
        CODE,
        "request.model",
        `\`${input.request.model}\` is not a router alias; ${known.length ? `configured: ${known.join(", ")}` : "no routers are configured"}.`,
      );
    }
    const key = input.key_id ? await deps.store.keys.get(input.key_id) : undefined;
    if (input.key_id && !key)
      throw errors.invalidRequest(`No key \`${input.key_id}\`.`, "key_id", "key_not_found");
    const state = {
      requestId: "explain",
      startedAt: Date.now(),
      responseHeaders: {},
      key,
      sessionId: input.session_id,
    } as GatewayState;
    const verdict = input.classifier_verdict ?? null;
    const { decision, pools } = await aliases.route(
      structuredClone(input.request),
      state,
      input.tier_hint ?? "",
      async () => verdict,
    );
    ctx.body = {
      object: "routing.explanation",
      router: decision.router,
      rule: decision.rule,
      model: pools[0]!.model.id,
      fallback: pools.slice(1).map((p) => p.model.id),
      classifier: decision.classifier,
      session: decision.session ?? null,
      trace: decision.trace,
    };
  });

  router.get("/admin/usage/savings", guard, async (ctx) => {
    const query = parseUsageQuery({ ...ctx.query });
    if (query.groupBy.includes("model")) {
      throw invalidField(
        "invalid_usage_query",
        "group_by",
        "Savings are broken down by model already; group_by takes key, session and period here.",
      );
    }
    const data = [];
    for (const r of deps.routers) {
      const served = await deps.store.usage.summary({
        ...query,
        groupBy: [...query.groupBy, "model"],
        requested: r.alias,
      });
      const classifier = await deps.store.usage.summary({
        ...query,
        groupBy: [...query.groupBy, "model"],
        requested: `${r.alias}:classifier`,
      });
      data.push(...savingsRows(r, deps.models, query.groupBy, served, classifier));
    }
    ctx.body = { object: "list", group_by: query.groupBy, period: query.period ?? null, data };
  });
}
