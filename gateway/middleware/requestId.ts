import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";
import type { GatewayState } from "../state.ts";

const VALID = /^[\w.:-]{1,128}$/;

/**
 * Every request gets the gateway's own id (`req_…`): usage rows, upstream calls and logs
 * are keyed by it, so a client cannot make two requests share one (and one usage row) by
 * repeating its `x-request-id`. The client's id, when sane, is kept beside it and echoed
 * back in `x-request-id`; without one, the response carries ours.
 */
export function requestId(): Middleware<GatewayState> {
  return async function requestId(ctx, next) {
    const incoming = ctx.get("x-request-id");
    const id = `req_${randomUUID().replaceAll("-", "")}`;
    const client = incoming && VALID.test(incoming) ? incoming : undefined;
    ctx.state.requestId = id;
    ctx.state.clientRequestId = client;
    ctx.state.startedAt = Date.now();
    ctx.state.responseHeaders = {};
    ctx.set("x-request-id", client ?? id);
    await next();
  };
}
