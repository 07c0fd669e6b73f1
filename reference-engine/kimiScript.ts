/**
 * What the tiny reference model should say to a chat request: the simulator's own reply planning
 * (sim/chatPlan.ts: script rules when given, else its deterministic generator: tools when asked,
 * reasoning when thinking, JSON for `response_format`, an echo of a tool result), rendered as the
 * raw K2.5-format text a real Kimi K2.5 would generate. The forcing logits processor makes the
 * model emit exactly that text, so vLLM's own serving code, chat template, structured output and
 * kimi_k2 reasoning and tool parsers produce every byte of the response. One rule engine, not two.
 */
import { getPreset } from "../catalog/index.ts";
import { planChat, thinkingEnabled, toolModeOf } from "../sim/chatPlan.ts";
import { type ChatRequest, validateChatRequest } from "../sim/chatRequest.ts";
import { NO_FAULTS } from "../sim/faults.ts";
import type { CompiledScript } from "../sim/script.ts";
import { REFERENCE_MODEL } from "./vllmArgs.ts";

const preset = getPreset(REFERENCE_MODEL);

/**
 * The K2.5 text for this request body, or undefined when there is nothing to script (vLLM will
 * refuse the request itself, or the simulator's planner does: vLLM then answers with its own error).
 *
 * The reply is planned without `max_tokens`, `stop` and `n`, so vLLM itself applies them to the
 * scripted text (its length cut, its stop-string matching, its choices), not the planner.
 */
export function kimiScript(body: Record<string, unknown>, script?: CompiledScript): string | undefined {
  let req: ChatRequest;
  try {
    req = validateChatRequest(body, "vllm");
  } catch {
    return undefined;
  }
  const unbounded: ChatRequest = {
    ...req,
    max_tokens: null,
    max_completion_tokens: null,
    stop: null,
    n: 1,
    stream: false,
    include_reasoning: null,
  };
  let choice: ReturnType<typeof planChat>["choices"][number];
  try {
    choice = planChat(unbounded, { preset, script, faults: NO_FAULTS }).choices[0]!;
  } catch {
    return undefined;
  }
  // K2.5's template opens `<think>` after the assistant marker when thinking; the model closes it.
  const think = thinkingEnabled(preset, req) ? `${choice.reasoning ?? ""}</think>` : "";
  const calls = choice.toolCalls;
  const mode = toolModeOf(req);
  // A named function and `required` go through vLLM's structured output, not the tool parser: the
  // model writes the arguments object (named) or a JSON list of {name, parameters} (required).
  if (mode === "named") return think + (calls[0]?.arguments ?? "{}");
  if (mode === "required") {
    return think + JSON.stringify(calls.map((c) => ({ name: c.name, parameters: JSON.parse(c.arguments) })));
  }
  const content = choice.content ?? "";
  if (calls.length === 0) return think + content;
  const section = calls
    .map((c) => `<|tool_call_begin|>${c.id}<|tool_call_argument_begin|>${c.arguments}<|tool_call_end|>`)
    .join("");
  return `${think}${content}<|tool_calls_section_begin|>${section}<|tool_calls_section_end|>`;
}
