import type { GatewayConfig } from "../config/schema.ts";

/** How long a finished job of a key on `tier` is kept: the tier's own setting, else `jobs.retentionHours`. */
export function retentionMs(config: GatewayConfig, tier: string): number {
  const hours = config.tiers[tier]?.jobRetentionHours ?? config.jobs.retentionHours;
  return Math.round(hours * 3_600_000);
}
