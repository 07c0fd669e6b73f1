/**
 * KV-cache capacity per layout, estimated before any GPU is rented: what decode context
 * parallelism buys on K2.5 (stacks/README.md quotes these numbers; vLLM prints the real
 * figure at startup as `GPU KV cache size: N tokens`).
 */
import { GPU_MEMORY_GIB, type Layout, type ModelPreset } from "./presets.ts";

/** vLLM's default `--gpu-memory-utilization`. */
const GPU_MEMORY_UTILIZATION = 0.9;
/** Activations, CUDA graphs and the sampler, per GPU (a rough, conservative allowance). */
const ACTIVATION_GIB_PER_GPU = 6;

export interface KvCapacity {
  /** GiB left for KV cache on each GPU. */
  readonly kvGiBPerGpu: number;
  /** Tokens the cluster can hold in KV cache with the layout's decode context parallelism. */
  readonly tokens: number;
  /** The same without decode context parallelism (every TP rank holds every token's MLA latent). */
  readonly tokensWithoutDcp: number;
}

/** Pure; throws when the preset has no KV shape. */
export function kvCapacity(preset: ModelPreset, layout: Layout): KvCapacity {
  const kv = preset.kvCache;
  if (!kv) throw new Error(`${preset.id}: no kvCache shape in the catalog`);
  const gpus = layout.gpusPerNode * layout.nodes;
  const kvGiBPerGpu =
    GPU_MEMORY_GIB[layout.gpuType] * GPU_MEMORY_UTILIZATION -
    preset.weights.sizeGiB / gpus -
    ACTIVATION_GIB_PER_GPU;
  // Pipeline stages split the layers; within a stage MLA's latent cache is replicated across TP ranks.
  const bytesPerToken = kv.bytesPerTokenPerLayer * (kv.layers / layout.pipelineParallel);
  const tokensWithoutDcp = Math.floor((kvGiBPerGpu * 2 ** 30) / bytesPerToken);
  const dcp = layout.vllm?.decodeContextParallel ?? 1;
  return { kvGiBPerGpu, tokens: tokensWithoutDcp * dcp, tokensWithoutDcp };
}
