/**
 * What every engine process needs regardless of target: its command line (from the
 * catalog), environment, health checks and resource needs. Docker and Kubernetes
 * specs are both built from this, so the two targets cannot drift apart.
 */
import { buildEngineCommand, type Layout, type ModelPreset } from "../../catalog/index.ts";

/** Where staged weights are mounted inside engine containers. */
export const WEIGHTS_MOUNT = "/models";
export const HEALTH_PATH = "/health";
/** vLLM and llama.cpp load 1T-parameter checkpoints for a long time; 2 h before giving up. */
export const STARTUP_BUDGET_SECONDS = 7_200;
export const STARTUP_PERIOD_SECONDS = 30;

export interface EngineProcess {
  readonly preset: ModelPreset;
  readonly layout: Layout;
  readonly port: number;
  readonly maxModelLen?: number;
  /** Multi-node only. */
  readonly nodeRank?: number;
  readonly leaderAddress?: string;
}

export function engineCommand(p: EngineProcess): string[] {
  return buildEngineCommand(p.preset, p.layout, {
    weightsDir: WEIGHTS_MOUNT,
    port: p.port,
    ...(p.maxModelLen ? { maxModelLen: p.maxModelLen } : {}),
    ...(p.nodeRank !== undefined ? { nodeRank: p.nodeRank } : {}),
    ...(p.leaderAddress ? { leaderAddress: p.leaderAddress } : {}),
  });
}

/** Weights are staged before the servers start; the engines must never reach for the Hub. */
export function engineEnv(preset: ModelPreset): Record<string, string> {
  const env: Record<string, string> = {
    HF_HUB_OFFLINE: "1",
    HF_HOME: `${WEIGHTS_MOUNT}/.hf-home`,
  };
  if (preset.engine === "vllm") env["VLLM_NO_USAGE_STATS"] = "1";
  return env;
}

/** Shared memory for NCCL and vLLM's worker processes: a quarter of host RAM needs, at least 16 GiB. */
export function shmGiB(layout: Layout): number {
  return Math.max(16, 8 * layout.gpusPerNode);
}

/** Requests (CPU cores, memory GiB) per engine process, so the scheduler leaves room for loaders. */
export function engineResources(layout: Layout): { cpu: number; memoryGiB: number } {
  return {
    cpu: 4 * layout.gpusPerNode,
    memoryGiB: 32 * layout.gpusPerNode + (layout.hostRamGiB ?? 0) + shmGiB(layout),
  };
}

/** Port engines listen on inside Kubernetes pods (Docker hosts get one port per process). */
export const ENGINE_PORT = 8000;
