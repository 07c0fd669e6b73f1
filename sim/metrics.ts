import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { LlamaCppMetrics } from "./llamacppMetrics.ts";

/** Live values read at scrape time rather than pushed on every request. */
export interface LoadSource {
  running(): number;
  waiting(): number;
  /** Fraction of the simulated KV cache in use, 0..1. */
  kvUsage(): number;
  /** Simulated GPU utilisation, 0..100. */
  gpuUtil(): number;
}

// vLLM 0.20.2's buckets, read from the reference engine's /metrics.
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
  2560,
];
const ITL_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
];
/** vLLM's engine-level finish reasons (the API's "tool_calls" is a "stop" to the engine). */
const FINISHED_REASONS = ["stop", "length", "abort", "error", "repetition"] as const;
/** vLLM labels every engine metric with the engine index; one engine per server here. */
const ENGINE = "0";

/**
 * vLLM's metric names (with `model_name` label) on a registry owned by this simulator, so two
 * simulators in one process do not collide; dcgm-exporter's GPU gauge on a second registry, served
 * apart (`GET /sim/dcgm`) because vLLM's own `/metrics` never reports GPU utilisation.
 */
export class SimMetrics {
  readonly registry = new Registry();
  readonly gpuRegistry = new Registry();
  readonly #ttft: Histogram.Internal<"model_name" | "engine">;
  readonly #itl: Histogram.Internal<"model_name" | "engine">;
  readonly #prompt: Counter.Internal;
  readonly #generation: Counter.Internal;
  readonly #success: Counter<"model_name" | "engine" | "finished_reason">;
  readonly #modelName: string;
  /** Set for llama.cpp presets: `/metrics` then serves llama-server's names instead of vLLM's. */
  readonly #llama: LlamaCppMetrics | undefined;

  constructor(
    modelName: string,
    gpus: number,
    gpuModel: string,
    load: LoadSource,
    engine: "vllm" | "llamacpp" = "vllm",
  ) {
    this.#modelName = modelName;
    this.#llama = engine === "llamacpp" ? new LlamaCppMetrics(load) : undefined;
    const registers = [this.registry];
    const labelNames = ["model_name", "engine"] as const;
    const labels = { model_name: modelName, engine: ENGINE };
    new Gauge({
      name: "vllm:num_requests_running",
      help: "Number of requests in model execution batches.",
      labelNames,
      registers,
      collect() {
        this.set(labels, load.running());
      },
    });
    new Gauge({
      name: "vllm:num_requests_waiting",
      help: "Number of requests waiting to be processed.",
      labelNames,
      registers,
      collect() {
        this.set(labels, load.waiting());
      },
    });
    new Gauge({
      name: "vllm:kv_cache_usage_perc",
      help: "KV-cache usage. 1 means 100 percent usage.",
      labelNames,
      registers,
      collect() {
        this.set(labels, load.kvUsage());
      },
    });
    new Gauge({
      name: "DCGM_FI_DEV_GPU_UTIL",
      help: "GPU utilization (in %).",
      labelNames: ["gpu", "modelName"],
      registers: [this.gpuRegistry],
      collect() {
        const util = load.gpuUtil();
        for (let gpu = 0; gpu < gpus; gpu++) this.set({ gpu: String(gpu), modelName: gpuModel }, util);
      },
    });
    this.#ttft = new Histogram({
      name: "vllm:time_to_first_token_seconds",
      help: "Histogram of time to first token in seconds.",
      labelNames,
      buckets: TTFT_BUCKETS,
      registers,
    }).labels(labels);
    this.#itl = new Histogram({
      name: "vllm:inter_token_latency_seconds",
      help: "Histogram of inter-token latency in seconds.",
      labelNames,
      buckets: ITL_BUCKETS,
      registers,
    }).labels(labels);
    this.#prompt = new Counter({
      name: "vllm:prompt_tokens_total",
      help: "Number of prefill tokens processed.",
      labelNames,
      registers,
    }).labels(labels);
    this.#generation = new Counter({
      name: "vllm:generation_tokens_total",
      help: "Number of generation tokens processed.",
      labelNames,
      registers,
    }).labels(labels);
    this.#success = new Counter({
      name: "vllm:request_success_total",
      help: "Count of successfully processed requests.",
      labelNames: ["model_name", "engine", "finished_reason"],
      registers,
    });
    // vLLM exports every reason from the start, at 0.
    for (const reason of FINISHED_REASONS) this.#success.inc({ ...labels, finished_reason: reason }, 0);
  }

  observeTtft(seconds: number): void {
    this.#ttft.observe(seconds);
  }

  /** vLLM records one observation per generated token after the first. */
  observeItl(seconds: number, observations: number): void {
    for (let i = 0; i < observations; i++) this.#itl.observe(seconds);
  }

  finished(promptTokens: number, completionTokens: number, finishReason: string): void {
    this.#llama?.finished(promptTokens, completionTokens);
    this.#prompt.inc(promptTokens);
    this.#generation.inc(completionTokens);
    const reason = finishReason === "tool_calls" ? "stop" : finishReason;
    this.#success.inc({ model_name: this.#modelName, engine: ENGINE, finished_reason: reason });
  }

  text(): Promise<string> {
    return (this.#llama?.registry ?? this.registry).metrics();
  }

  /** What a dcgm-exporter beside this engine would report. */
  gpuText(): Promise<string> {
    return this.gpuRegistry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
