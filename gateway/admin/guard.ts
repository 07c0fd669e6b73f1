/**
 * The admin API's own bearer token (GONKA_ADMIN_KEY). It is compared in constant time over
 * SHA-256 digests, so neither the content nor the length of the expected token leaks through
 * response timing. API keys (`gk-…`) are refused before any comparison: they are customer
 * credentials and must never open the admin surface.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Middleware } from "koa";
import { bearerToken } from "../auth/bearer.ts";
import { GatewayError } from "../errors.ts";
import type { GatewayState } from "../state.ts";
import { SECRET_PREFIX } from "../store/keys.ts";

/** Shorter admin tokens are refused at start-up; 32 base64 characters carry 192 bits. */
export const MIN_ADMIN_KEY_LENGTH = 24;

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** Constant-time equality of two tokens of any lengths (both are hashed to 32 bytes first). */
export function adminTokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Throws when the configured admin key is unusable; call once at mount time. */
export function assertUsableAdminKey(adminKey: string): void {
  if (typeof adminKey !== "string" || adminKey.length < MIN_ADMIN_KEY_LENGTH) {
    throw new Error(
      `The admin key (GONKA_ADMIN_KEY) must be at least ${MIN_ADMIN_KEY_LENGTH} characters; generate one with \`openssl rand -base64 32\`.`,
    );
  }
  if (adminKey.startsWith(SECRET_PREFIX)) {
    throw new Error(`The admin key must not look like an API key (\`${SECRET_PREFIX}…\`).`);
  }
}

function invalidAdminKey(message: string): GatewayError {
  return new GatewayError({
    status: 401,
    type: "authentication_error",
    code: "invalid_admin_key",
    message,
    headers: { "www-authenticate": 'Bearer realm="gonka-admin"' },
  });
}

/**
 * Guards every admin route. Responses are marked `no-store`: some carry secrets, and none
 * should sit in a shared cache.
 */
export function adminGuard(adminKey: string): Middleware<GatewayState> {
  assertUsableAdminKey(adminKey);
  return async function adminGuard(ctx, next) {
    const token = bearerToken(ctx.get("authorization") || undefined);
    if (token === undefined) {
      throw invalidAdminKey(
        "The admin API needs `Authorization: Bearer <admin key>` (the gateway's GONKA_ADMIN_KEY).",
      );
    }
    if (token.startsWith(SECRET_PREFIX)) {
      throw invalidAdminKey("API keys cannot be used on the admin API; use the admin key.");
    }
    if (!adminTokenMatches(token, adminKey)) {
      throw invalidAdminKey("Invalid admin key.");
    }
    ctx.set("cache-control", "no-store");
    await next();
  };
}
