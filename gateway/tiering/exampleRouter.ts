/**
 * The rule set the local stack ships under the alias `auto` (and the README's worked
 * example): the economy model for short classification and extraction prompts or when the
 * caller asks for economy, K2.5 for tools, reasoning and everything else, DeepSeek when
 * K2.5 cannot serve. No classifier: a simulator's verdict would be noise.
 */
import type { RouterConfigInput } from "./schema.ts";

export const EXAMPLE_ROUTER: RouterConfigInput = {
  alias: "auto",
  baseline: "kimi-k2.5",
  rules: [
    { name: "tools", when: { tools: true }, model: "kimi-k2.5", fallback: ["deepseek-v3.1"] },
    { name: "reasoning", when: { reasoning: true }, model: "kimi-k2.5", fallback: ["deepseek-v3.1"] },
    {
      name: "short-extraction",
      when: {
        promptTokensAtMost: 1_000,
        lastUserMessage:
          "\\b(classify|categori[sz]e|extract|label|tag|sentiment|yes or no|true or false|translate)\\b",
      },
      model: "qwen3-32b",
      fallback: ["kimi-k2.5"],
    },
    { name: "economy-hint", when: { tierHint: ["economy"] }, model: "qwen3-32b", fallback: ["kimi-k2.5"] },
  ],
  default: { model: "kimi-k2.5", fallback: ["deepseek-v3.1"] },
};
