import type { GatewayConfig } from "../config/schema.ts";
import { ModelPool } from "./replicaPool.ts";

/** Resolves the request's `model` (id or alias) to its pool of replicas. */
export class ModelRegistry {
  readonly pools: readonly ModelPool[];
  private readonly byName = new Map<string, ModelPool>();

  constructor(config: GatewayConfig) {
    this.pools = config.models.map((m) => new ModelPool(m));
    // Names are unique: the config schema refuses a name used by two models.
    for (const pool of this.pools) {
      for (const name of [pool.model.id, ...pool.model.aliases]) this.byName.set(name, pool);
    }
  }

  resolve(name: string): ModelPool | undefined {
    return this.byName.get(name);
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.close()));
  }
}
