import { getPreset } from "../../catalog/index.ts";
import type { RouterConfigInput } from "../tiering/schema.ts";
import { parseConfig } from "./load.ts";
import type { GatewayConfigInput, TierConfigInput } from "./schema.ts";

/** One deployed model: a catalog preset and where its replicas answer. */
export interface DeployedModel {
  /** Catalog preset id or alias. */
  readonly preset: string;
  /** Base URLs of the replicas (no `/v1`). */
  readonly replicaUrls: readonly string[];
  /** dcgm-exporter URL per replica, same order as `replicaUrls`, where one runs. */
  readonly gpuMetricsUrls?: readonly (string | undefined)[];
  /** Extra names clients may use for this model (cost-tier aliases, for instance). */
  readonly extraAliases?: readonly string[];
}

export interface GatewayDeployment {
  readonly models: readonly DeployedModel[];
  readonly listen?: { host?: string; port?: number };
  readonly tiers?: Record<string, TierConfigInput>;
  readonly reasoningOutput?: "both" | "reasoning" | "reasoning_content";
  /** Router aliases (tiering); their model names must be among `models`. */
  readonly routers?: readonly RouterConfigInput[];
}

/**
 * The gateway config for a set of deployed models. One function for the local
 * stack and the Pulumi stacks, so both route the same names to the same presets.
 * Pure and deterministic (models sorted by id).
 */
export function buildGatewayConfig(deployment: GatewayDeployment): GatewayConfigInput {
  const models = [...deployment.models]
    .map((m) => {
      const preset = getPreset(m.preset);
      if (m.replicaUrls.length === 0) throw new Error(`model ${preset.id} has no replicas`);
      return {
        id: preset.id,
        aliases: [...new Set([...preset.aliases, ...(m.extraAliases ?? [])])].sort(),
        engine: preset.engine,
        capabilities: [...preset.capabilities],
        contextLength: preset.contextLength,
        costTier: preset.costTier,
        price: { ...preset.pricePerMTokens },
        ownedBy: preset.weights.repo.split("/")[0] ?? "gonka",
        backendReasoningField: preset.reasoningField ?? "reasoning",
        replicas: m.replicaUrls.map((url, i) => {
          const gpu = m.gpuMetricsUrls?.[i];
          return { id: `${preset.id}-${i}`, url, ...(gpu ? { gpuMetricsUrl: gpu } : {}) };
        }),
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  const config: GatewayConfigInput = {
    ...(deployment.listen ? { listen: deployment.listen } : {}),
    models,
    ...(deployment.tiers ? { tiers: deployment.tiers } : {}),
    ...(deployment.reasoningOutput ? { reasoningOutput: deployment.reasoningOutput } : {}),
    ...(deployment.routers ? { routers: [...deployment.routers] } : {}),
  };
  // The schema's checks (a name used by two models, a model deployed twice) fail here, at
  // stack time, rather than when the gateway starts.
  parseConfig(config, "generated gateway config");
  return config;
}
