import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { GatewayState } from "../state.ts";

/** One line per request: ids, route, status, timing. Never the body. */
export function accessLog(log: Logger): Middleware<GatewayState> {
  return async function accessLog(ctx, next) {
    try {
      await next();
    } finally {
      if (log.isLevelEnabled("info")) {
        const route = ctx.state.route;
        log.info(
          {
            requestId: ctx.state.requestId,
            clientRequestId: ctx.state.clientRequestId,
            method: ctx.method,
            path: ctx.path,
            status: ctx.respond === false ? ctx.res.statusCode : ctx.status,
            model: route?.pool.model.id,
            sessionId: ctx.state.sessionId,
            ms: Date.now() - ctx.state.startedAt,
          },
          "request",
        );
      }
    }
  };
}
