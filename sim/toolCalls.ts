import type { ChatRequest, ConversationView, ToolDefinition } from "./chatRequest.ts";
import { sampleFromSchema } from "./jsonSchema.ts";
import type { Rng } from "./prng.ts";

export type ToolCallIdStyle = "kimi" | "openai";

export interface PlannedToolCall {
  id: string;
  name: string;
  /** JSON text, as the engine's tool parser would emit it. */
  arguments: string;
}

/**
 * Which tools the simulated model calls. The rules are deterministic so tests
 * can steer them: `none` never, a named choice always that tool, `required`
 * at least one, `auto` only when the user spoke last and no tool result has
 * arrived since the assistant's last tool call (then the model answers in
 * text, even if a framework appended a user message after the result: OpenClaw
 * does, and looping on it ran a real `exec` tool hundreds of times). Tools named
 * as whole words in the last user message are called in parallel; otherwise the
 * first tool.
 */
export function chooseTools(req: ChatRequest, view: ConversationView): ToolDefinition[] {
  const tools = req.tools ?? [];
  if (tools.length === 0) return [];
  const choice = req.tool_choice ?? "auto";
  if (choice === "none") return [];
  if (typeof choice === "object") {
    const named = tools.find((t) => t.function.name === choice.function.name);
    return named ? [named] : [];
  }
  if (choice !== "required" && (view.lastRole !== "user" || view.toolResultSinceLastCall)) return [];
  const mentioned = tools.filter((t) => mentions(view.lastUserText, t.function.name));
  const picked = mentioned.length > 0 ? mentioned : [tools[0]!];
  return req.parallel_tool_calls === false ? picked.slice(0, 1) : picked;
}

/** `name` as a whole word: `exec` in "exec the script", not in "executable" or "exec_policy". */
function mentions(text: string, name: string): boolean {
  let at = text.indexOf(name);
  while (at >= 0) {
    const before = text[at - 1];
    const after = text[at + name.length];
    if (!isWordChar(before) && !isWordChar(after)) return true;
    at = text.indexOf(name, at + 1);
  }
  return false;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\w-]/.test(ch);
}

/**
 * K2.5's parser emits `functions.<name>:<index>` with the index counted over the
 * whole conversation; vLLM's other parsers use `chatcmpl-tool-<hex>`.
 */
export function toolCallId(style: ToolCallIdStyle, name: string, index: number, rng: Rng): string {
  return style === "kimi" ? `functions.${name}:${index}` : `chatcmpl-tool-${rng.hex(32)}`;
}

export function planToolCalls(
  tools: ToolDefinition[],
  view: ConversationView,
  style: ToolCallIdStyle,
  rng: Rng,
  preferredString: string | undefined,
): PlannedToolCall[] {
  return tools.map((tool, i) => {
    const args = sampleFromSchema(tool.function.parameters ?? { type: "object", properties: {} }, {
      rng,
      ...(preferredString !== undefined ? { preferredString } : {}),
    });
    return {
      id: toolCallId(style, tool.function.name, view.priorToolCalls + i, rng),
      name: tool.function.name,
      arguments: JSON.stringify(args),
    };
  });
}

/** The raw K2.5 tool-call section, as leaked into `content` by the known parser bug. */
export function kimiToolMarkers(calls: readonly PlannedToolCall[]): string {
  let out = "<|tool_calls_section_begin|>";
  for (const c of calls) {
    out += `<|tool_call_begin|>${c.id}<|tool_call_argument_begin|>${c.arguments}<|tool_call_end|>`;
  }
  return out + "<|tool_calls_section_end|>";
}
