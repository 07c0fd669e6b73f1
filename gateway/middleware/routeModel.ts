import type { Middleware } from "koa";
import { endpointSpec } from "../endpoints.ts";
import { errors } from "../errors.ts";
import type { Endpoint } from "../outcome.ts";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import type { GatewayState } from "../state.ts";
import { validateRequest } from "./validateRequest.ts";

/** Validates the body and resolves its `model` to a pool of replicas. */
export function routeModel(endpoint: Endpoint, registry: ModelRegistry): Middleware<GatewayState> {
  return async function routeModel(ctx, next) {
    const body = ctx.state.body;
    validateRequest(endpoint, body);
    const pool = registry.resolve(body.model);
    if (!pool) throw errors.modelNotFound(body.model);
    if (!pool.model.capabilities.includes(endpointSpec(endpoint).capability)) {
      throw errors.invalidRequest(
        `The model \`${pool.model.id}\` does not support ${endpoint.replace(".", " ")}.`,
        "model",
        "model_not_supported",
      );
    }
    const session = ctx.get("x-session-id");
    if (session) ctx.state.sessionId = session.slice(0, 256);
    ctx.state.route = { requested: body.model, pool, body };
    await next();
  };
}
