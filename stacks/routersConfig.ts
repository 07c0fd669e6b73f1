/**
 * `gonka:gateway.routers` (tiering) checked before anything is created, by the gateway's
 * own config schema over the models this stack deploys: the same messages a gateway would
 * print at start (`routers.0.rules.1.model: router "auto" rule "x": unknown model …`).
 */
import { buildGatewayConfig } from "../gateway/config/fromCatalog.ts";
import type { TierConfigInput } from "../gateway/config/schema.ts";
import type { RouterConfig } from "../gateway/tiering/schema.ts";

export function routerProblems(
  routers: readonly RouterConfig[],
  models: ReadonlyArray<{ preset: { id: string }; extraAliases: readonly string[] }>,
  tiers: Record<string, TierConfigInput> | undefined,
): string[] {
  try {
    buildGatewayConfig({
      // Placeholder addresses: only names, capabilities and tiers matter to the router checks.
      models: models.map((m) => ({
        preset: m.preset.id,
        replicaUrls: ["http://127.0.0.1:1"],
        extraAliases: m.extraAliases,
      })),
      ...(tiers ? { tiers } : {}),
      routers,
    });
    return [];
  } catch (err) {
    return (err as Error).message
      .split("\n")
      .filter((line) => line.trim().startsWith("- routers"))
      .map((line) => `gonka:gateway.${line.trim().slice(2)}`);
  }
}
