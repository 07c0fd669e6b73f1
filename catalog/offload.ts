/**
 * llama.cpp expert offload, sized instead of guessed: `--cpu-moe` would put every expert
 * tensor in host RAM (~330 of K2.5 Q2's 350 GiB) and leave the GPUs mostly idle. Instead keep
 * as many MoE layers' experts on the GPUs as fit beside the dense weights and the KV cache,
 * and offload only the rest (`--n-cpu-moe N`: the experts of the first N layers stay on CPU).
 */
import { GPU_MEMORY_GIB, type Layout, type ModelPreset } from "./presets.ts";

/** Share of GPU memory llama.cpp may use for weights (the rest: CUDA context, fragmentation). */
export const GPU_USABLE_SHARE = 0.9;
/** KV cache and compute buffers kept free per GPU (MLA KV at 128k context plus batch buffers). */
export const KV_RESERVE_GIB_PER_GPU = 8;

export interface ExpertOffloadPlan {
  /** MoE layers whose experts live in host RAM. */
  readonly cpuMoeLayers: number;
  /**
   * The `--n-cpu-moe` value: llama.cpp counts blocks from `blk.0` (its expert regex matches
   * `blk.<i>.ffn_*_exps` for i < N), so the leading dense blocks count but hold no experts.
   */
  readonly nCpuMoe: number;
  /** Host RAM the offloaded experts occupy (loaded with `--no-mmap`, so resident, not page cache). */
  readonly hostRamGiB: number;
  /** GPU memory the plan uses for weights (dense part + experts kept on GPU). */
  readonly gpuWeightsGiB: number;
}

/** Pure; throws when the layout does not offload or the dense part alone does not fit. */
export function expertOffloadPlan(preset: ModelPreset, layout: Layout): ExpertOffloadPlan {
  const where = `${preset.id}/${layout.id}`;
  const moe = preset.weights.moe;
  if (!layout.offloadExperts) throw new Error(`${where}: layout does not offload experts`);
  if (!moe) throw new Error(`${where}: expert offload needs the preset's weights.moe shape`);
  const gpus = layout.gpusPerNode * layout.nodes;
  const budget = GPU_MEMORY_GIB[layout.gpuType] * gpus * GPU_USABLE_SHARE - KV_RESERVE_GIB_PER_GPU * gpus;
  const denseGiB = preset.weights.sizeGiB - moe.expertGiB;
  const perLayer = moe.expertGiB / moe.layers;
  const free = budget - denseGiB;
  if (free < 0)
    throw new Error(
      `${where}: the non-expert weights (${denseGiB} GiB) and KV reserve do not fit in ${Math.floor(budget + KV_RESERVE_GIB_PER_GPU * gpus)} GiB of GPU memory`,
    );
  const onGpu = Math.min(moe.layers, Math.floor(free / perLayer));
  const cpuMoeLayers = moe.layers - onGpu;
  return {
    cpuMoeLayers,
    nCpuMoe: cpuMoeLayers > 0 ? moe.firstLayer + cpuMoeLayers : 0,
    hostRamGiB: Math.ceil(cpuMoeLayers * perLayer),
    gpuWeightsGiB: Math.ceil(denseGiB + onGpu * perLayer),
  };
}
