import type { Middleware } from "koa";
import { endpointSpec } from "../endpoints.ts";
import { errors } from "../errors.ts";
import type { Endpoint } from "../outcome.ts";
import { responsesChain, responsesRoutingView } from "../responses/routing.ts";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import type { GatewayState } from "../state.ts";
import type { AliasRouter } from "../tiering/aliasRouter.ts";
import { validateRequest } from "./validateRequest.ts";

/**
 * Validates the body and resolves its `model` to a pool of replicas: a model's id or alias
 * directly, a router alias (tiering) through its rules, with fallbacks.
 */
export function routeModel(
  endpoint: Endpoint,
  registry: ModelRegistry,
  aliases?: AliasRouter,
): Middleware<GatewayState> {
  return async function routeModel(ctx, next) {
    const body = ctx.state.body;
    validateRequest(endpoint, body);
    const session = ctx.get("x-session-id");
    if (session) ctx.state.sessionId = session.slice(0, 256);
    // A continued response chain routes like its session (stickiness, a router alias's model).
    const chain = endpoint === "responses" ? responsesChain(body) : undefined;
    if (chain) ctx.state.sessionId = chain;
    if (aliases?.has(body.model)) {
      if (endpoint !== "chat.completions" && endpoint !== "responses") {
        throw errors.invalidRequest(
          `\`${body.model}\` is a router alias: it serves chat completions only; name a model here.`,
          "model",
          "model_not_supported",
        );
      }
      const view = endpoint === "responses" ? responsesRoutingView(body) : body;
      const { decision, pools, onServed } = await aliases.route(view, ctx.state, ctx.get("x-gonka-tier"));
      const headers: Record<string, string> = {
        "x-gonka-route": decision.rule,
        "x-gonka-model-requested": body.model,
      };
      if (decision.classifier !== null) headers["x-gonka-classifier"] = decision.classifier;
      Object.assign(ctx.state.responseHeaders, headers);
      ctx.set(headers);
      ctx.state.route = {
        requested: body.model,
        pool: pools[0]!,
        body,
        fallbacks: pools.slice(1),
        tiering: {
          router: decision.router,
          rule: decision.rule,
          classifier: decision.classifier,
          ...(onServed ? { onServed } : {}),
        },
      };
      return next();
    }
    const pool = registry.resolve(body.model);
    if (!pool) throw errors.modelNotFound(body.model);
    if (!pool.model.capabilities.includes(endpointSpec(endpoint).capability)) {
      throw errors.invalidRequest(
        `The model \`${pool.model.id}\` does not support ${endpoint.replace(".", " ")}.`,
        "model",
        "model_not_supported",
      );
    }
    ctx.state.route = { requested: body.model, pool, body };
    await next();
  };
}
