import type { ModelPool } from "../routing/replicaPool.ts";

/** A key's or tier's model allow-list names models by id or alias; empty or absent allows all. */
export function listAllows(list: readonly string[] | null | undefined, pool: ModelPool): boolean {
  if (!list || list.length === 0) return true;
  const { id, aliases } = pool.model;
  return list.some((name) => name === id || aliases.includes(name));
}
