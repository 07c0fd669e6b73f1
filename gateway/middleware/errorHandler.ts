import type { Middleware } from "koa";
import type { Logger } from "pino";
import { errors, toGatewayError } from "../errors.ts";
import type { GatewayState } from "../state.ts";

/**
 * The single place errors become responses: OpenAI's error object, the right status,
 * the error's own headers and the request id. Statuses the router sets without a body
 * (404 unmatched route, 405 wrong method, 501 unknown method, answered as 405) end here too, so nothing
 * leaves the gateway as Koa's text/plain default.
 */
export function errorHandler(log: Logger): Middleware<GatewayState> {
  return async function errorHandler(ctx, next) {
    try {
      await next();
      if (ctx.respond !== false && ctx.body == null && ctx.status >= 400) {
        // 501 is the router's answer to a method it does not know (PROPFIND): still the client's mistake.
        if (ctx.status === 405 || ctx.status === 501) {
          throw errors.methodNotAllowed(ctx.method, ctx.path, ctx.response.get("allow"));
        }
        throw errors.routeNotFound(ctx.method, ctx.path);
      }
    } catch (err) {
      const error = toGatewayError(err);
      if (error.status >= 500) {
        log.error(
          { requestId: ctx.state.requestId, err: error.cause ?? error, code: error.code },
          error.message,
        );
      }
      if (ctx.headerSent || !ctx.writable) return;
      ctx.status = error.status;
      ctx.set(ctx.state.responseHeaders ?? {});
      ctx.set(error.headers);
      ctx.body = error.toBody();
    }
  };
}
