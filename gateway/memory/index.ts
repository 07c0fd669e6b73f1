/**
 * Memory (`/v1/memory`): wiring. The store holds items and searches (store/sqlite/sqliteMemory.ts,
 * store/postgres/postgresMemory.ts); this folder has the HTTP routes, their validation, the
 * embedding call through the gateway's routing, and the sweeper of expired items.
 */
import type { Logger } from "pino";
import type { GatewayConfig } from "../config/schema.ts";
import { startPeriodic } from "../periodic.ts";
import type { MemoryRepository } from "./types.ts";

export { createEmbedder } from "./embedder.ts";
export { memoryOpenApi } from "./openapi.ts";
export { mountMemoryRoutes } from "./routes.ts";
export type { MemoryRepository } from "./types.ts";

/**
 * The id of the configured model that embeds memory (`memory.embeddingModel`, an id or an
 * alias), or undefined when no configured model with the `embeddings` capability has that
 * name: memory is then off.
 */
export function memoryEmbeddingModel(config: GatewayConfig): string | undefined {
  const name = config.memory.embeddingModel;
  const model = config.models.find((m) => m.id === name || m.aliases.includes(name));
  return model?.capabilities.includes("embeddings") ? model.id : undefined;
}

const SWEEP_BATCH = 500;

/**
 * Deletes expired items every `intervalMs`, in batches of 500 (short transactions, so no
 * long lock; several replicas sweeping at once take different rows). Reads already ignore
 * expired items: sweeping only reclaims space. Returns the stop function.
 */
export function startMemorySweeper(
  memory: MemoryRepository,
  intervalMs: number,
  log: Logger,
): () => Promise<void> {
  const sweep = async () => {
    let total = 0;
    for (;;) {
      const n = await memory.sweepExpired(Date.now(), SWEEP_BATCH);
      total += n;
      if (n < SWEEP_BATCH) break;
    }
    if (total > 0) log.info({ swept: total }, "expired memory items deleted");
  };
  const sweeper = startPeriodic(sweep, {
    intervalMs,
    onError: (err) => log.warn({ err }, "memory sweep failed; retrying at the next interval"),
  });
  return sweeper.stop;
}
