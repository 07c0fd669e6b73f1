import { Counter, Gauge, Registry } from "prom-client";
import type { LoadSource } from "./metrics.ts";

/**
 * llama-server's `/metrics` (with `--metrics`, as the catalog starts it): `llamacpp:*` names,
 * no labels. The gateway reads `requests_processing` / `requests_deferred` from it.
 */
export class LlamaCppMetrics {
  readonly registry = new Registry();
  readonly #prompt: Counter;
  readonly #predicted: Counter;

  constructor(load: LoadSource) {
    const registers = [this.registry];
    new Gauge({
      name: "llamacpp:requests_processing",
      help: "Number of requests processing.",
      registers,
      collect() {
        this.set(load.running());
      },
    });
    new Gauge({
      name: "llamacpp:requests_deferred",
      help: "Number of requests deferred.",
      registers,
      collect() {
        this.set(load.waiting());
      },
    });
    new Gauge({
      name: "llamacpp:kv_cache_usage_ratio",
      help: "KV-cache usage. 1 means 100 percent usage.",
      registers,
      collect() {
        this.set(load.kvUsage());
      },
    });
    this.#prompt = new Counter({
      name: "llamacpp:prompt_tokens_total",
      help: "Number of prompt tokens processed.",
      registers,
    });
    this.#predicted = new Counter({
      name: "llamacpp:tokens_predicted_total",
      help: "Number of generation tokens processed.",
      registers,
    });
  }

  finished(promptTokens: number, completionTokens: number): void {
    this.#prompt.inc(promptTokens);
    this.#predicted.inc(completionTokens);
  }
}
