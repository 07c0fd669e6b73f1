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
  /** For a session: record the model that answered, so its next turn stays there. */
  readonly onServed?: (modelId: string) => void;
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

export interface AliasRouterDeps extends ClassifierDeps {
  /** The model that last answered a key's session through an alias (the usage ledger), or null. */
  readonly sessionModel?: (keyId: string | null, sessionId: string, alias: string) => Promise<string | null>;
}

/** Sessions remembered in memory per process (the ledger answers for the rest). */
const REMEMBERED_SESSIONS = 10_000;

export function createAliasRouter(
  routers: readonly RouterConfig[],
  tiers: Record<string, TierConfig>,
  deps: AliasRouterDeps,
): AliasRouter {
  const byAlias = new Map(routers.map((r) => [r.alias, r]));
  // This process's own recent turns: the ledger may not have the previous row yet (the
  // journal imports in batches), and asking it costs a query per request.
  const remembered = new Map<string, string>();
  const remember = (id: string, model: string) => {
    remembered.delete(id);
    remembered.set(id, model);
    if (remembered.size > REMEMBERED_SESSIONS) remembered.delete(remembered.keys().next().value!);
  };
  const sessionModel = async (router: RouterConfig, state: GatewayState, id: string) => {
    const known = remembered.get(id);
    if (known !== undefined) return known;
    // The lookup failing (a database hiccup) must not fail the request: route by the rules.
    return (
      (await deps.sessionModel?.(state.key?.id ?? null, state.sessionId!, router.alias).catch(() => null)) ??
      null
    );
  };
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
      let decision = await decideRoute(
        router,
        features,
        classify ?? (() => runClassifier(router, features.lastUserMessage, state, deps)),
      );
      const sessionKey = state.sessionId
        ? JSON.stringify([state.key?.id ?? null, state.sessionId, router.alias])
        : undefined;
      if (sessionKey) {
        const previous = await sessionModel(router, state, sessionKey);
        const rule = router.rules.find((r) => r.name === decision.rule);
        if (previous !== null && deps.registry.resolve(previous) && !rule?.overrideSession) {
          // The conversation stays where it started; the rules' choice remains as fallback.
          decision = {
            ...decision,
            rule: "session",
            session: previous,
            models: [previous, ...decision.models],
          };
        } else {
          decision = { ...decision, session: previous };
        }
      }
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
      return {
        decision,
        pools,
        ...(sessionKey ? { onServed: (model: string) => remember(sessionKey, model) } : {}),
      };
    },
  };
}
