import type { Middleware } from "koa";
import { errors } from "../errors.ts";
import type { GatewayState } from "../state.ts";
import { type KeyCache, keyState } from "../store/index.ts";
import { bearerToken } from "./bearer.ts";

/** `Authorization: Bearer <key>` as OpenAI clients send it, or Azure-style `api-key: <key>`. */
export function presentedKey(authorization: string, apiKeyHeader: string): string | undefined {
  if (authorization) return bearerToken(authorization);
  return apiKeyHeader.trim() || undefined;
}

/** Shows enough of a rejected key for its owner to recognise it, never enough to use it. */
function masked(secret: string): string {
  return secret.length <= 12 ? "***" : `${secret.slice(0, 6)}…${secret.slice(-4)}`;
}

/**
 * API key → key record and tier, from the in-memory cache. Runs first on every `/v1`
 * route, before the body is read: a request without a valid key costs no body read, never
 * learns which models exist (`/v1/models` included) and never reaches a backend.
 */
export function authenticate(keys: KeyCache, tierNames: ReadonlySet<string>): Middleware<GatewayState> {
  return async function authenticate(ctx, next) {
    const secret = presentedKey(ctx.get("authorization"), ctx.get("api-key"));
    if (!secret) {
      throw errors.invalidApiKey(
        "You didn't provide an API key. Send it as 'Authorization: Bearer gk-…' (or an 'api-key' header).",
      );
    }
    const key = await keys.lookup(secret);
    if (!key) throw errors.invalidApiKey(`Incorrect API key provided: ${masked(secret)}.`);
    const state = keyState(key);
    if (state !== "active") throw errors.invalidApiKey(`The API key ${key.prefix}… has been ${state}.`);
    if (!tierNames.has(key.tier)) {
      throw errors.invalidApiKey(
        `The API key ${key.prefix}… is on tier "${key.tier}", which this gateway no longer offers.`,
      );
    }
    ctx.state.key = key;
    await next();
  };
}
