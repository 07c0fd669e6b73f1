/**
 * The model catalog: the single source of truth for what we can serve.
 * The stacks turn presets into containers, the gateway config is generated from
 * them and the simulator reads them to act like each model.
 */

export type Engine = "vllm" | "llamacpp";
export type Capability = "chat" | "completions" | "tools" | "reasoning" | "vision" | "embeddings";
export type CostTier = "premium" | "standard" | "economy";
export type GpuType = "H200" | "H100" | "A100-80G" | "L40S" | "L4";

/** Usable memory per GPU, GiB; used to reject layouts that cannot hold a model. */
export const GPU_MEMORY_GIB: Readonly<Record<GpuType, number>> = {
  H200: 141,
  H100: 80,
  "A100-80G": 80,
  L40S: 48,
  L4: 24,
};

/** One way to place a model on hardware. */
export interface Layout {
  /** Stable name used in stack config, e.g. `h200x8`. */
  readonly id: string;
  readonly gpuType: GpuType;
  readonly gpusPerNode: number;
  readonly nodes: number;
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  /**
   * llama.cpp only: the GPUs cannot hold every expert, so the experts of some MoE layers
   * live in host RAM (`--n-cpu-moe N`, N sized by `expertOffloadPlan` from what fits in VRAM).
   */
  readonly offloadExperts?: boolean;
  /** vLLM only: throughput settings that depend on the hardware, from the vLLM recipes. */
  readonly vllm?: VllmTuning;
}

/** Per-layout vLLM flags (checked against vLLM 0.20.2's own `EngineArgs`). */
export interface VllmTuning {
  /**
   * `--decode-context-parallel-size`: shards the (MLA) KV cache across the TP ranks instead
   * of replicating it, multiplying KV capacity by this factor; must divide tensorParallel.
   */
  readonly decodeContextParallel?: number;
  /** `--max-num-batched-tokens`: tokens per scheduler step (prefill chunk size). */
  readonly maxNumBatchedTokens?: number;
  /** `--compilation-config {"pass_config":{"fuse_allreduce_rms":true}}`: FlashInfer's fused all-reduce + RMSNorm. */
  readonly fuseAllReduceRms?: boolean;
}

export interface ModelPreset {
  /** The name clients send as `model` and the engine serves (`--served-model-name`). */
  readonly id: string;
  readonly displayName: string;
  readonly engine: Engine;
  /** Engine image, pinned by tag; `images/` builds on these. */
  readonly image: string;
  readonly weights: {
    /** Hugging Face repository the weight-staging job downloads from. */
    readonly repo: string;
    /** For GGUF: the file name pattern of the quantisation to fetch. */
    readonly include?: string;
    /** First shard (GGUF) or sub-path the engine is pointed at, relative to the repo folder. */
    readonly entry?: string;
    readonly sizeGiB: number;
    /**
     * Mixture-of-experts shape, for sizing llama.cpp expert offload: MoE layers and the GiB
     * their expert tensors take (the rest is attention, dense layers and embeddings).
     */
    readonly moe?: {
      readonly layers: number;
      /** Index of the first MoE block (`blk.N`); the blocks before it are dense. */
      readonly firstLayer: number;
      readonly expertGiB: number;
    };
  };
  /** Supported layouts; the first is the default. */
  readonly layouts: readonly Layout[];
  readonly contextLength: number;
  readonly capabilities: readonly Capability[];
  readonly costTier: CostTier;
  /** Price per million tokens in USD cents, for tiering rules and reports. */
  readonly pricePerMTokens: { readonly input: number; readonly output: number };
  readonly toolCallParser?: string;
  readonly reasoningParser?: string;
  /** Field the engine puts reasoning text in (vLLM >= 0.16: `reasoning`; llama.cpp: `reasoning_content`). */
  readonly reasoningField?: "reasoning" | "reasoning_content";
  /** Reasoning is on unless the request turns it off via `chat_template_kwargs`. */
  readonly thinkingByDefault?: boolean;
  /** Tool-call id style the model's parser produces. */
  readonly toolCallIdStyle?: "kimi" | "openai";
  readonly embeddingDimensions?: number;
  readonly aliases: readonly string[];
  /**
   * vLLM only: chat template file (under `VLLM_CHAT_TEMPLATE_DIR` in our vLLM image) that the
   * vLLM tool-calling docs pair with `toolCallParser`; without it tool calls do not parse.
   */
  readonly chatTemplate?: string;
  /**
   * KV-cache shape for capacity estimates: layers, and bytes one token takes in one layer's
   * cache (MLA: (kv_lora_rank + qk_rope_head_dim) values; × 2 bytes in bf16).
   */
  readonly kvCache?: { readonly layers: number; readonly bytesPerTokenPerLayer: number };
  /** Extra engine flags that are specific to this model. */
  readonly extraArgs?: readonly string[];
}

export const VLLM_IMAGE = "vllm/vllm-openai:v0.20.2";
/**
 * llama.cpp build b8070 (February 2026). Kimi K2.5 came out on 2026-01-27; builds before it
 * (b7400 was cut in December 2025) predate its chat template, which needs
 * `tojson(separators=...)` and the `<think>` / `<|tool_calls_section_begin|>` parsing that
 * the K2 family's `--jinja` path gained with the new jinja engine, and the upstream K2.5
 * support (ggml-org/llama.cpp#19170, vision) landed just before this build. Confirm on the
 * hardware with the template and tool-call checks in stacks/README.md ("Confirm on hardware").
 */
export const LLAMACPP_IMAGE = "ghcr.io/ggml-org/llama.cpp:server-cuda-b8070";
/** Where images/vllm-kimi-k2.5 puts the vLLM tool chat templates (fetched from the same vLLM tag). */
export const VLLM_CHAT_TEMPLATE_DIR = "/opt/gonka/chat-templates";

/**
 * vLLM's Kimi-K2 recipe (8×H200, and TP 8 × PP 2 on 16 GPUs): decode context parallel 8
 * (KV cache sharded over the 8 TP ranks instead of replicated: 8× KV capacity, about +43 %
 * output tokens/s in the recipe's measurement), 32k-token scheduler steps and the fused
 * all-reduce + RMSNorm pass. All three exist in vLLM 0.20.2 (`ParallelConfig`,
 * `SchedulerConfig`, `PassConfig.fuse_allreduce_rms`).
 */
const K2_TUNING: VllmTuning = {
  decodeContextParallel: 8,
  maxNumBatchedTokens: 32_768,
  fuseAllReduceRms: true,
};

export const PRESETS: readonly ModelPreset[] = [
  {
    id: "kimi-k2.5",
    displayName: "Kimi K2.5 (native INT4) on vLLM",
    engine: "vllm",
    image: VLLM_IMAGE,
    weights: { repo: "moonshotai/Kimi-K2.5", sizeGiB: 555 },
    layouts: [
      {
        id: "h200x8",
        gpuType: "H200",
        gpusPerNode: 8,
        nodes: 1,
        tensorParallel: 8,
        pipelineParallel: 1,
        vllm: K2_TUNING,
      },
      {
        id: "h100x8x2",
        gpuType: "H100",
        gpusPerNode: 8,
        nodes: 2,
        tensorParallel: 8,
        pipelineParallel: 2,
        vllm: K2_TUNING,
      },
    ],
    contextLength: 262_144,
    capabilities: ["chat", "completions", "tools", "reasoning", "vision"],
    costTier: "premium",
    pricePerMTokens: { input: 60, output: 250 },
    toolCallParser: "kimi_k2",
    reasoningParser: "kimi_k2",
    reasoningField: "reasoning",
    thinkingByDefault: true,
    toolCallIdStyle: "kimi",
    aliases: ["kimi", "kimi-k2.5-int4", "moonshotai/Kimi-K2.5"],
    extraArgs: ["--trust-remote-code", "--mm-encoder-tp-mode", "data"],
    // DeepSeek-V3 architecture: 61 layers, MLA latent 512 + rope 64 = 576 values, bf16.
    kvCache: { layers: 61, bytesPerTokenPerLayer: 576 * 2 },
  },
  {
    id: "kimi-k2.5-q2",
    displayName: "Kimi K2.5 GGUF UD-Q2_K_XL on llama.cpp",
    engine: "llamacpp",
    image: LLAMACPP_IMAGE,
    weights: {
      repo: "unsloth/Kimi-K2.5-GGUF",
      include: "UD-Q2_K_XL/*",
      entry: "UD-Q2_K_XL/Kimi-K2.5-UD-Q2_K_XL-00001-of-00008.gguf",
      sizeGiB: 350,
      // K2 has 61 blocks, blk.0 dense (first_k_dense_replace 1): 60 MoE layers whose experts
      // are ~330 of the 350 GiB.
      moe: { layers: 60, firstLayer: 1, expertGiB: 330 },
    },
    layouts: [
      { id: "h200x4", gpuType: "H200", gpusPerNode: 4, nodes: 1, tensorParallel: 4, pipelineParallel: 1 },
      {
        id: "h100x4-offload",
        gpuType: "H100",
        gpusPerNode: 4,
        nodes: 1,
        tensorParallel: 4,
        pipelineParallel: 1,
        offloadExperts: true,
      },
    ],
    contextLength: 131_072,
    capabilities: ["chat", "completions", "tools", "reasoning"],
    costTier: "economy",
    pricePerMTokens: { input: 25, output: 100 },
    reasoningField: "reasoning_content",
    thinkingByDefault: true,
    toolCallIdStyle: "kimi",
    aliases: ["kimi-k2.5-economy"],
  },
  {
    id: "deepseek-v3.1",
    displayName: "DeepSeek V3.1 (FP8) on vLLM",
    engine: "vllm",
    image: VLLM_IMAGE,
    weights: { repo: "deepseek-ai/DeepSeek-V3.1", sizeGiB: 642 },
    layouts: [
      { id: "h200x8", gpuType: "H200", gpusPerNode: 8, nodes: 1, tensorParallel: 8, pipelineParallel: 1 },
      { id: "h100x8x2", gpuType: "H100", gpusPerNode: 8, nodes: 2, tensorParallel: 8, pipelineParallel: 2 },
    ],
    contextLength: 131_072,
    capabilities: ["chat", "completions", "tools", "reasoning"],
    costTier: "standard",
    pricePerMTokens: { input: 50, output: 150 },
    toolCallParser: "deepseek_v31",
    // vLLM tool-calling docs: `--tool-call-parser deepseek_v31 --chat-template examples/tool_chat_template_deepseekv31.jinja`.
    chatTemplate: "tool_chat_template_deepseekv31.jinja",
    reasoningParser: "deepseek_v3",
    reasoningField: "reasoning",
    thinkingByDefault: false,
    toolCallIdStyle: "openai",
    aliases: ["deepseek"],
  },
  {
    id: "llama-4-maverick",
    displayName: "Llama 4 Maverick 17B-128E (FP8) on vLLM",
    engine: "vllm",
    image: VLLM_IMAGE,
    weights: { repo: "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", sizeGiB: 390 },
    layouts: [
      { id: "h100x8", gpuType: "H100", gpusPerNode: 8, nodes: 1, tensorParallel: 8, pipelineParallel: 1 },
      { id: "h200x8", gpuType: "H200", gpusPerNode: 8, nodes: 1, tensorParallel: 8, pipelineParallel: 1 },
    ],
    contextLength: 430_000,
    capabilities: ["chat", "completions", "tools", "vision"],
    costTier: "standard",
    pricePerMTokens: { input: 20, output: 60 },
    toolCallParser: "llama4_pythonic",
    // vLLM tool-calling docs: `--tool-call-parser llama4_pythonic --chat-template examples/tool_chat_template_llama4_pythonic.jinja`.
    chatTemplate: "tool_chat_template_llama4_pythonic.jinja",
    toolCallIdStyle: "openai",
    aliases: ["llama", "llama-4"],
  },
  {
    id: "qwen3-32b",
    displayName: "Qwen3 32B on vLLM",
    engine: "vllm",
    image: VLLM_IMAGE,
    weights: { repo: "Qwen/Qwen3-32B", sizeGiB: 62 },
    layouts: [
      { id: "h100x2", gpuType: "H100", gpusPerNode: 2, nodes: 1, tensorParallel: 2, pipelineParallel: 1 },
      { id: "h200x1", gpuType: "H200", gpusPerNode: 1, nodes: 1, tensorParallel: 1, pipelineParallel: 1 },
    ],
    contextLength: 32_768,
    capabilities: ["chat", "completions", "tools", "reasoning"],
    costTier: "economy",
    pricePerMTokens: { input: 8, output: 24 },
    toolCallParser: "hermes",
    reasoningParser: "qwen3",
    reasoningField: "reasoning",
    thinkingByDefault: true,
    toolCallIdStyle: "openai",
    aliases: ["qwen", "qwen3"],
  },
  {
    id: "qwen3-embedding-0.6b",
    displayName: "Qwen3 Embedding 0.6B on vLLM",
    engine: "vllm",
    image: VLLM_IMAGE,
    weights: { repo: "Qwen/Qwen3-Embedding-0.6B", sizeGiB: 1.2 },
    layouts: [
      { id: "l4x1", gpuType: "L4", gpusPerNode: 1, nodes: 1, tensorParallel: 1, pipelineParallel: 1 },
      { id: "h100x1", gpuType: "H100", gpusPerNode: 1, nodes: 1, tensorParallel: 1, pipelineParallel: 1 },
    ],
    contextLength: 32_768,
    capabilities: ["embeddings"],
    costTier: "economy",
    pricePerMTokens: { input: 2, output: 0 },
    embeddingDimensions: 1024,
    aliases: ["embeddings", "text-embedding"],
  },
];
