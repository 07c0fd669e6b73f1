import { randomUUID } from "node:crypto";
import type { Middleware } from "koa";
import type { GatewayState } from "../state.ts";

const VALID = /^[\w.:-]{1,128}$/;

/** Every response carries `x-request-id`: the client's if it sent a sane one, else a new one. */
export function requestId(): Middleware<GatewayState> {
  return async function requestId(ctx, next) {
    const incoming = ctx.get("x-request-id");
    const id = incoming && VALID.test(incoming) ? incoming : `req_${randomUUID().replaceAll("-", "")}`;
    ctx.state.requestId = id;
    ctx.state.startedAt = Date.now();
    ctx.state.responseHeaders = {};
    ctx.set("x-request-id", id);
    await next();
  };
}
