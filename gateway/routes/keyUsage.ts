/**
 * `GET /v1/usage`: a key holder's own usage, without the admin key. The same query and
 * answer as `/admin/usage` (grouping, periods, filters, JSON or CSV), always restricted
 * to the calling key: naming another key is refused rather than silently ignored, so a
 * script that believes it reads someone else's totals finds out.
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import { parseUsageQuery, sendUsage } from "../admin/usageRoutes.ts";
import { invalidField } from "../admin/validate.ts";
import type { GatewayState } from "../state.ts";
import type { Store } from "../store/index.ts";

export function mountKeyUsageRoute(
  router: Router<GatewayState>,
  auth: readonly Middleware<GatewayState>[],
  store: Store,
): void {
  router.get("/v1/usage", ...auth, async (ctx) => {
    const key = ctx.state.key!;
    const { key_id: keyId, ...rest } = ctx.query;
    if (keyId !== undefined && keyId !== key.id) {
      throw invalidField(
        "invalid_usage_query",
        "key_id",
        "`/v1/usage` reports the calling key's own usage; other keys' usage is on the admin API.",
      );
    }
    const query = { ...parseUsageQuery(rest), keyId: key.id };
    sendUsage(ctx, query, await store.usage.summary(query));
  });
}
