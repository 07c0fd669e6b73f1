import { randomFillSync } from "node:crypto";
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
    const id = newRequestId();
    const client = incoming && VALID.test(incoming) ? incoming : undefined;
    ctx.state.requestId = id;
    ctx.state.clientRequestId = client;
    ctx.state.startedAt = Date.now();
    ctx.state.responseHeaders = {};
    ctx.set("x-request-id", client ?? id);
    await next();
  };
}

// 128 random bits per id, hex-encoded, taken from a pool refilled every 256 ids (randomUUID
// pools its entropy the same way): a third of the cost of formatting a UUID and removing its dashes.
const pool = Buffer.allocUnsafe(16 * 256);
let offset = pool.length;

function newRequestId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + 16);
  offset += 16;
  return `req_${hex}`;
}
