/**
 * Routes a request whose `model` is a router alias: reads its features, lets the rules
 * decide (asking the classifier if a rule needs it), and turns the decision into the
 * pools to try, in order, leaving out every model the caller's key or tier may not use.
 */
import { listAllows } from "../auth/allowList.ts";
import type { TierConfig } from "../config/schema.ts";
import { errors, GatewayError } from "../errors.ts";
import type { ModelPool } from "../routing/replicaPool.ts";
import type { GatewayState } from "../state.ts";
import { type ClassifierDeps, runClassifier } from "./classifier.ts";
import { decideRoute, type RouteDecision } from "./evaluate.ts";
import { requestFeatures } from "./features.ts";
import type { RouterConfig } from "./schema.ts";

export interface TieredRoute {
  readonly decision: RouteDecision;
  /** First the pool to use, then its fallbacks; never empty. */
  readonly pools: ModelPool[];
}

export interface AliasRouter {
  has(name: unknown): boolean;
  /**
   * `classify` replaces the classifier call (explain passes the verdict to assume, so a dry
   * run never calls a model); otherwise the router's classifier is asked when a rule needs it.
   */
  route(
    body: Record<string, unknown>,
    state: GatewayState,
    tierHeader: string,
    classify?: () => Promise<string | null>,
  ): Promise<TieredRoute>;
}

export function createAliasRouter(
  routers: readonly RouterConfig[],
  tiers: Record<string, TierConfig>,
  deps: ClassifierDeps,
): AliasRouter {
  const byAlias = new Map(routers.map((r) => [r.alias, r]));
  return {
    has: (name) => typeof name === "string" && byAlias.has(name),
    async route(body, state, tierHeader, classify) {
      const router = byAlias.get(body["model"] as string)!;
      if (tierHeader && tierHeader !== "economy" && tierHeader !== "premium") {
        throw errors.invalidRequest(
          `The x-gonka-tier header must be economy or premium, not \`${tierHeader.slice(0, 40)}\`.`,
          "x-gonka-tier",
          "invalid_tier_hint",
        );
      }
      const features = requestFeatures(body, { tierHint: tierHeader, keyTier: state.key?.tier });
      const decision = await decideRoute(
        router,
        features,
        classify ?? (() => runClassifier(router, features.lastUserMessage, state, deps)),
      );
      const key = state.key;
      const tier = key ? tiers[key.tier] : undefined;
      const pools: ModelPool[] = [];
      for (const name of decision.models) {
        const pool = deps.registry.resolve(name);
        if (!pool || pools.includes(pool)) continue;
        // Never a model the key may not use, not even as a fallback.
        if (key && (!listAllows(key.models, pool) || !listAllows(tier?.models, pool))) continue;
        pools.push(pool);
      }
      if (pools.length === 0) {
        throw new GatewayError({
          status: 403,
          type: "permission_error",
          code: "model_not_allowed",
          param: "model",
          message: `This API key may use none of the models \`${router.alias}\` chose (rule \`${decision.rule}\`: ${decision.models.map((m) => `\`${m}\``).join(", ")}).`,
        });
      }
      return { decision, pools };
    },
  };
}
