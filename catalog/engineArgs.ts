import { expertOffloadPlan } from "./offload.ts";
import { type Layout, type ModelPreset, VLLM_CHAT_TEMPLATE_DIR } from "./presets.ts";

/** Where and how one engine process runs; everything the command line depends on besides the preset. */
export interface EngineRunOptions {
  /** Folder that holds the staged weights (`<weightsDir>/<repo>`). */
  readonly weightsDir: string;
  readonly port: number;
  /**
   * Address the HTTP server binds (default 0.0.0.0, right inside a container's own network
   * namespace); a host-networked engine binds the host's private address or loopback.
   */
  readonly host?: string;
  /** For multi-node vLLM: this process's node rank (0 is the leader that serves HTTP). */
  readonly nodeRank?: number;
  /** For multi-node vLLM: address the workers use to reach the leader. */
  readonly leaderAddress?: string;
  /**
   * For multi-node vLLM: torch.distributed rendezvous port on the leader (`--master-port`,
   * vLLM's default 29501); two multi-node replicas whose leaders share a host need distinct ones.
   */
  readonly masterPort?: number;
  /** Overrides the preset's context length (must not exceed it). */
  readonly maxModelLen?: number;
}

export function weightsPath(preset: ModelPreset, weightsDir: string): string {
  const base = `${weightsDir.replace(/\/+$/, "")}/${preset.weights.repo}`;
  return preset.weights.entry ? `${base}/${preset.weights.entry}` : base;
}

/** Throws with a message that names the offending field; pure, so stacks and tests call it up front. */
export function validateLayout(preset: ModelPreset, layout: Layout): void {
  const where = `${preset.id}/${layout.id}`;
  const gpus = layout.gpusPerNode * layout.nodes;
  if (!Number.isInteger(layout.tensorParallel) || layout.tensorParallel < 1) {
    throw new Error(`${where}: tensorParallel must be a positive integer, got ${layout.tensorParallel}`);
  }
  if (layout.gpusPerNode % layout.tensorParallel !== 0) {
    throw new Error(
      `${where}: tensorParallel ${layout.tensorParallel} does not divide the ${layout.gpusPerNode} GPUs of a node`,
    );
  }
  if (layout.tensorParallel * layout.pipelineParallel !== gpus) {
    throw new Error(
      `${where}: tensorParallel ${layout.tensorParallel} × pipelineParallel ${layout.pipelineParallel} must equal the ${gpus} GPUs of ${layout.nodes} node(s)`,
    );
  }
  if (layout.nodes > 1 && preset.engine !== "vllm") {
    throw new Error(`${where}: multi-node serving is only supported on vLLM, not ${preset.engine}`);
  }
}

/** Arguments after `vllm serve`; deterministic for the same input. */
export function buildVllmArgs(preset: ModelPreset, layout: Layout, run: EngineRunOptions): string[] {
  if (preset.engine !== "vllm") throw new Error(`${preset.id} runs on ${preset.engine}, not vLLM`);
  validateLayout(preset, layout);
  const maxLen = contextFor(preset, run);
  const args = [
    weightsPath(preset, run.weightsDir),
    "--served-model-name",
    preset.id,
    "--host",
    run.host ?? "0.0.0.0",
    "--port",
    String(run.port),
    "--tensor-parallel-size",
    String(layout.tensorParallel),
  ];
  if (layout.pipelineParallel > 1) args.push("--pipeline-parallel-size", String(layout.pipelineParallel));
  if (layout.nodes > 1) {
    const rank = run.nodeRank ?? 0;
    if (rank < 0 || rank >= layout.nodes)
      throw new Error(`${preset.id}: nodeRank ${rank} outside 0..${layout.nodes - 1}`);
    if (!run.leaderAddress)
      throw new Error(`${preset.id}/${layout.id}: multi-node serving needs leaderAddress`);
    args.push(
      "--nnodes",
      String(layout.nodes),
      "--node-rank",
      String(rank),
      "--master-addr",
      run.leaderAddress,
    );
    if (run.masterPort !== undefined) args.push("--master-port", String(run.masterPort));
    // Workers only run model shards; the leader (rank 0) is the one that serves the API.
    if (rank > 0) args.push("--headless");
  }
  const tuning = layout.vllm;
  if (tuning?.decodeContextParallel && tuning.decodeContextParallel > 1) {
    if (layout.tensorParallel % tuning.decodeContextParallel !== 0)
      throw new Error(
        `${preset.id}/${layout.id}: decodeContextParallel ${tuning.decodeContextParallel} must divide tensorParallel ${layout.tensorParallel}`,
      );
    args.push("--decode-context-parallel-size", String(tuning.decodeContextParallel));
  }
  if (tuning?.maxNumBatchedTokens) args.push("--max-num-batched-tokens", String(tuning.maxNumBatchedTokens));
  if (tuning?.fuseAllReduceRms)
    args.push("--compilation-config", JSON.stringify({ pass_config: { fuse_allreduce_rms: true } }));
  if (preset.capabilities.includes("embeddings")) {
    args.push("--runner", "pooling");
  } else {
    args.push("--max-model-len", String(maxLen));
  }
  if (preset.toolCallParser)
    args.push("--enable-auto-tool-choice", "--tool-call-parser", preset.toolCallParser);
  if (preset.chatTemplate) args.push("--chat-template", `${VLLM_CHAT_TEMPLATE_DIR}/${preset.chatTemplate}`);
  if (preset.reasoningParser) args.push("--reasoning-parser", preset.reasoningParser);
  if (preset.extraArgs) args.push(...preset.extraArgs);
  return args;
}

/** Arguments after `llama-server`; deterministic for the same input. */
export function buildLlamaCppArgs(preset: ModelPreset, layout: Layout, run: EngineRunOptions): string[] {
  if (preset.engine !== "llamacpp") throw new Error(`${preset.id} runs on ${preset.engine}, not llama.cpp`);
  validateLayout(preset, layout);
  const args = [
    "--model",
    weightsPath(preset, run.weightsDir),
    "--alias",
    preset.id,
    "--host",
    run.host ?? "0.0.0.0",
    "--port",
    String(run.port),
    // --jinja renders the model's own chat template, which is what makes K2.5 tool calls parse.
    "--jinja",
    "--ctx-size",
    String(contextFor(preset, run)),
    "--n-gpu-layers",
    "999",
    "--split-mode",
    "layer",
    "--flash-attn",
    "on",
    "--metrics",
  ];
  // On GPUs too small for all experts, the experts of the first N MoE layers stay in host RAM
  // (N sized from what fits in VRAM); --no-mmap loads them resident instead of paging them in
  // from the weights volume on every token.
  if (layout.offloadExperts)
    args.push("--n-cpu-moe", String(expertOffloadPlan(preset, layout).nCpuMoe), "--no-mmap");
  if (preset.extraArgs) args.push(...preset.extraArgs);
  return args;
}

/**
 * The engine's arguments, without the executable: containers pass them as the image's CMD
 * (Kubernetes `args`, Docker `command`) and the image's ENTRYPOINT (`vllm serve`,
 * `/app/llama-server`) supplies the executable.
 */
export function buildEngineArgs(preset: ModelPreset, layout: Layout, run: EngineRunOptions): string[] {
  return preset.engine === "vllm"
    ? buildVllmArgs(preset, layout, run)
    : buildLlamaCppArgs(preset, layout, run);
}

function contextFor(preset: ModelPreset, run: EngineRunOptions): number {
  const len = run.maxModelLen ?? preset.contextLength;
  if (len > preset.contextLength) {
    throw new Error(
      `${preset.id}: maxModelLen ${len} exceeds the model's context length ${preset.contextLength}`,
    );
  }
  return len;
}
