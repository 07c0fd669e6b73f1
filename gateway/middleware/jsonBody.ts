import type { Middleware } from "koa";
import { errors } from "../errors.ts";
import { readAll } from "../readAll.ts";
import type { GatewayState } from "../state.ts";

/**
 * Reads and parses a JSON body with a size limit. Written here rather than taken
 * from a body-parser package so every failure maps to our error object and the
 * hot path does one buffer concat and one JSON.parse.
 */
export function jsonBody(limitBytes: number): Middleware<GatewayState> {
  return async function jsonBody(ctx, next) {
    if (ctx.method !== "POST" && ctx.method !== "PUT" && ctx.method !== "PATCH") return next();
    const type = ctx.get("content-type");
    if (!type.toLowerCase().startsWith("application/json"))
      throw errors.unsupportedMediaType(type || undefined);
    const declared = Number(ctx.get("content-length") || "0");
    if (declared > limitBytes) {
      // Read and discard a moderately large body so the client, still sending, sees the 413
      // rather than a broken pipe; close the connection on anything bigger.
      if (declared <= DRAIN_LIMIT_BYTES) await drain(ctx.req);
      else ctx.set("connection", "close");
      throw errors.bodyTooLarge(limitBytes);
    }
    const raw = await readAll(ctx.req, { bytes: limitBytes, error: () => errors.bodyTooLarge(limitBytes) });
    if (raw.length === 0) throw errors.invalidJson("the body is empty");
    ctx.state.rawBody = raw;
    try {
      ctx.state.body = JSON.parse(raw.toString("utf8"));
    } catch (err) {
      throw errors.invalidJson((err as Error).message);
    }
    await next();
  };
}

const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

function drain(req: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    req.on("end", resolve);
    req.on("error", () => resolve());
    req.on("close", resolve);
    req.resume();
  });
}
