/**
 * What every engine process needs regardless of target: its command line (from the
 * catalog), environment, health checks and resource needs. Docker and Kubernetes
 * specs are both built from this, so the two targets cannot drift apart.
 */
import { buildEngineArgs, expertOffloadPlan, type Layout, type ModelPreset } from "../../catalog/index.ts";

/** Where staged weights are mounted inside engine containers. */
export const WEIGHTS_MOUNT = "/models";
/**
 * Writable Hugging Face cache (an emptyDir on Kubernetes): with `--trust-remote-code` every
 * vLLM worker writes `$HF_HOME/modules`, so HF_HOME must not point into the read-only weights.
 */
export const HF_CACHE_MOUNT = "/var/cache/gonka-hf";
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
  readonly masterPort?: number;
  /** HTTP bind address inside the container (host-networked engines only). */
  readonly host?: string;
}

/** The engine's arguments; containers pass them as CMD so the image's ENTRYPOINT runs them. */
export function engineArgs(p: EngineProcess): string[] {
  return buildEngineArgs(p.preset, p.layout, {
    weightsDir: WEIGHTS_MOUNT,
    port: p.port,
    ...(p.maxModelLen ? { maxModelLen: p.maxModelLen } : {}),
    ...(p.nodeRank !== undefined ? { nodeRank: p.nodeRank } : {}),
    ...(p.leaderAddress ? { leaderAddress: p.leaderAddress } : {}),
    ...(p.masterPort !== undefined ? { masterPort: p.masterPort } : {}),
    ...(p.host ? { host: p.host } : {}),
  });
}

/** Weights are staged before the servers start; the engines must never reach for the Hub. */
export function engineEnv(preset: ModelPreset): Record<string, string> {
  const env: Record<string, string> = {
    HF_HUB_OFFLINE: "1",
    HF_HOME: HF_CACHE_MOUNT,
    HF_MODULES_CACHE: `${HF_CACHE_MOUNT}/modules`,
  };
  if (preset.engine === "vllm") env["VLLM_NO_USAGE_STATS"] = "1";
  return env;
}

/**
 * Environment variable each engine reads its API key from (vLLM `--api-key`, llama-server
 * `--api-key` both fall back to these), so the key never appears in an argv or `ps`.
 */
export function engineKeyEnvName(preset: ModelPreset): "VLLM_API_KEY" | "LLAMA_API_KEY" {
  return preset.engine === "vllm" ? "VLLM_API_KEY" : "LLAMA_API_KEY";
}

/** Shared memory for NCCL and vLLM's worker processes: a quarter of host RAM needs, at least 16 GiB. */
export function shmGiB(layout: Layout): number {
  return Math.max(16, 8 * layout.gpusPerNode);
}

/** Requests (CPU cores, memory GiB) per engine process, so the scheduler leaves room for loaders. */
export function engineResources(preset: ModelPreset, layout: Layout): { cpu: number; memoryGiB: number } {
  return {
    cpu: 4 * layout.gpusPerNode,
    memoryGiB: 32 * layout.gpusPerNode + offloadedGiB(preset, layout) + shmGiB(layout),
  };
}

/** Host RAM the offloaded experts occupy (0 unless the layout offloads). */
export function offloadedGiB(preset: ModelPreset, layout: Layout): number {
  return layout.offloadExperts ? expertOffloadPlan(preset, layout).hostRamGiB : 0;
}

/** Port engines listen on inside Kubernetes pods (Docker hosts get one port per process). */
export const ENGINE_PORT = 8000;

/** NCCL/gloo settings for a multi-node group; `NCCL_DEBUG=INFO` (see stacks/README.md) confirms `NET/IB`. */
export function fabricEnv(fabric: { ibHca: string; socketIfname: string }): Record<string, string> {
  return {
    NCCL_IB_HCA: fabric.ibHca,
    NCCL_SOCKET_IFNAME: fabric.socketIfname,
    GLOO_SOCKET_IFNAME: fabric.socketIfname,
  };
}
