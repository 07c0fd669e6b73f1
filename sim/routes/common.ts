import { randomUUID } from "node:crypto";
import type { Capability } from "../../catalog/index.ts";
import { SimError } from "../errors.ts";
import type { SimState } from "../state.ts";

const API_NAMES: Record<string, string> = {
  chat: "Chat Completions API",
  completions: "Completions API",
  embeddings: "Embeddings API",
};

/** vLLM rejects unknown model names with 404; llama-server serves whatever is loaded regardless of `model`. */
export function checkModel(state: SimState, model: unknown, capability: Capability): void {
  if (state.engine === "vllm" && model !== undefined && model !== null) {
    if (typeof model !== "string" || !state.servedNames.has(model)) {
      throw new SimError(404, `The model \`${String(model)}\` does not exist.`, { param: "model" });
    }
  }
  if (!state.preset.capabilities.includes(capability)) {
    throw new SimError(400, `The model does not support ${API_NAMES[capability] ?? capability}`);
  }
}

export function responseId(prefix: string): string {
  return prefix + randomUUID().replaceAll("-", "");
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function includeUsage(streamOptions: unknown): boolean {
  // Measured on vLLM 0.20.2: `stream_options: {}` sends no usage chunk; only include_usage: true does.
  if (!streamOptions || typeof streamOptions !== "object") return false;
  return (streamOptions as { include_usage?: unknown }).include_usage === true;
}
