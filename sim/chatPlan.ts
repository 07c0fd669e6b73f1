import type { ModelPreset } from "../catalog/index.ts";
import {
  type ChatRequest,
  type ConversationView,
  countPromptTokens,
  longestQuoted,
  viewConversation,
} from "./chatRequest.ts";
import { badRequest } from "./errors.ts";
import type { ActiveFaults } from "./faults.ts";
import { generateReasoning, generateText, generateWords } from "./generator.ts";
import { sampleFromSchema } from "./jsonSchema.ts";
import { createRng, hashString, type Rng } from "./prng.ts";
import { type CompiledScript, matchScript, type ScriptReply, type ScriptRule } from "./script.ts";
import { countTokens, takeTokens } from "./tokens.ts";
import {
  chooseTools,
  kimiToolMarkers,
  type PlannedToolCall,
  planToolCalls,
  toolCallId,
} from "./toolCalls.ts";

export type FinishReason = "stop" | "length" | "tool_calls";

/**
 * How tool calls are produced. vLLM parses `auto` calls from the model's text with the tool parser
 * (K2.5 ids, `finish_reason: "tool_calls"`); a named choice and `required` go through structured
 * output instead (random `chatcmpl-tool-` ids, `content: ""`; a named call ends with `"stop"`, like
 * OpenAI, `required` with `"tool_calls"`).
 */
export type ToolMode = "auto" | "named" | "required";

export interface PlannedChoice {
  reasoning: string | null;
  content: string | null;
  toolCalls: PlannedToolCall[];
  finishReason: FinishReason;
  /** vLLM's `stop_reason`: the matched stop string, else null. */
  stopReason: string | null;
  completionTokens: number;
  /** `max_tokens` ended the reply inside a tool call: vLLM drops it non-streamed, streams the part. */
  toolCut: boolean;
}

export interface ChatPlan {
  toolMode: ToolMode;
  promptTokens: number;
  completionTokens: number;
  choices: PlannedChoice[];
}

export interface PlanContext {
  preset: ModelPreset;
  script: CompiledScript | undefined;
  faults: Readonly<ActiveFaults>;
  /** The rule the chat route already matched (and counted); null: none did. Else matched here. */
  matched?: ScriptRule | null;
  /** The request's `X-Session-Id`, for `sessionId` script conditions. */
  sessionId?: string;
}

export function thinkingEnabled(preset: ModelPreset, req: ChatRequest): boolean {
  if (!preset.capabilities.includes("reasoning")) return false;
  const kw = req.chat_template_kwargs;
  // K2.5's chat template and vLLM 0.20.2's kimi_k2 reasoning parser read `thinking` only:
  // `enable_thinking: false` leaves K2.5 thinking.
  if (preset.reasoningParser === "kimi_k2") return kw?.thinking ?? preset.thinkingByDefault ?? false;
  return kw?.thinking ?? kw?.enable_thinking ?? preset.thinkingByDefault ?? false;
}

export function toolModeOf(req: ChatRequest): ToolMode {
  const choice = req.tool_choice;
  if (choice && typeof choice === "object") return "named";
  return choice === "required" ? "required" : "auto";
}

/** Rejects prompts that do not fit, with vLLM's wording; returns the completion budget. */
export function completionBudget(
  contextLength: number,
  promptTokens: number,
  maxTokens: number | null | undefined,
): number {
  if (promptTokens >= contextLength) {
    throw badRequest(
      `This model's maximum context length is ${contextLength} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input messages.`,
      "messages",
    );
  }
  if (maxTokens !== undefined && maxTokens !== null && promptTokens + maxTokens > contextLength) {
    throw badRequest(
      `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ${contextLength} tokens and your request has ${promptTokens} input tokens (${maxTokens} > ${contextLength} - ${promptTokens}).`,
      "max_tokens",
    );
  }
  return maxTokens ?? contextLength - promptTokens;
}

/** Seeds from everything that shapes the output, but not `stream`, so stream and non-stream agree. */
function requestSeed(model: string, req: ChatRequest): number {
  const key = JSON.stringify([
    model,
    req.messages,
    req.tools ?? null,
    req.tool_choice ?? null,
    req.max_tokens ?? req.max_completion_tokens ?? null,
    req.seed ?? null,
    req.temperature ?? null,
    req.response_format ?? null,
    req.chat_template_kwargs ?? null,
  ]);
  return hashString(key);
}

function structuredContent(req: ChatRequest, rng: Rng, preferred: string | undefined): string | undefined {
  const format = req.response_format;
  if (!format) return undefined;
  if (format.type === "json_object") return JSON.stringify({ answer: generateWords(rng, 4) });
  if (format.type === "json_schema") {
    const opts = preferred !== undefined ? { rng, preferredString: preferred } : { rng };
    return JSON.stringify(sampleFromSchema(format.json_schema?.schema ?? { type: "object" }, opts));
  }
  return undefined;
}

function scriptedToolCalls(reply: ScriptReply, view: ConversationView, style: "kimi" | "openai", rng: Rng) {
  return (reply.toolCalls ?? []).map((call, i) => ({
    id: toolCallId(style, call.name, view.priorToolCalls + i, rng),
    name: call.name,
    arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments),
  }));
}

interface Draft {
  reasoning: string | null;
  content: string;
  toolCalls: PlannedToolCall[];
  /** A script rule's own finish reason. */
  finishReason?: FinishReason;
}

function draftChoice(
  req: ChatRequest,
  view: ConversationView,
  ctx: PlanContext,
  rng: Rng,
  thinking: boolean,
): Draft {
  const style = ctx.preset.toolCallIdStyle ?? "openai";
  const rule = ctx.matched === undefined ? matchScript(ctx.script, view) : ctx.matched;
  if (rule) {
    return {
      reasoning: thinking ? (rule.reply.reasoning ?? generateReasoning(rng, rng.int(8, 24))) : null,
      content: rule.reply.content ?? "",
      toolCalls: scriptedToolCalls(rule.reply, view, style, rng),
      ...(rule.reply.finishReason ? { finishReason: rule.reply.finishReason } : {}),
    };
  }
  const reasoning = thinking ? generateReasoning(rng, rng.int(8, 24)) : null;
  const preferred = longestQuoted(view.lastUserText);
  const tools = chooseTools(req, view);
  if (tools.length > 0) {
    return { reasoning, content: "", toolCalls: planToolCalls(tools, view, style, rng, preferred) };
  }
  const structured = structuredContent(req, rng, preferred);
  if (structured !== undefined) return { reasoning, content: structured, toolCalls: [] };
  // After a tool result, echo part of it so agent scenarios can assert on outcomes.
  const prefix =
    (view.lastRole === "tool" || view.toolResultSinceLastCall) && view.lastToolResult
      ? `Based on the tool result: ${view.lastToolResult.slice(0, 200)}. `
      : "";
  return { reasoning, content: prefix + generateText(rng, rng.int(16, 40)), toolCalls: [] };
}

function firstStop(
  content: string,
  stop: string | string[] | null | undefined,
): { at: number; stop: string } | null {
  if (!stop) return null;
  let best: { at: number; stop: string } | null = null;
  for (const s of typeof stop === "string" ? [stop] : stop) {
    if (!s) continue;
    const at = content.indexOf(s);
    if (at >= 0 && (best === null || at < best.at)) best = { at, stop: s };
  }
  return best;
}

function finishChoice(draft: Draft, req: ChatRequest, budget: number, mode: ToolMode): PlannedChoice {
  let reasoning = draft.reasoning;
  let content = draft.content;
  let toolCalls = draft.toolCalls;
  let finishReason: FinishReason =
    draft.finishReason ?? (toolCalls.length > 0 && mode !== "named" ? "tool_calls" : "stop");
  let toolCut = false;
  let stopReason: string | null = null;

  const hit = firstStop(content, req.stop);
  if (hit && toolCalls.length === 0) {
    content = content.slice(0, hit.at);
    stopReason = hit.stop;
  }
  let used = reasoning ? countTokens(reasoning) : 0;
  if (reasoning && used >= budget) {
    reasoning = takeTokens(reasoning, budget);
    return {
      reasoning,
      content: null,
      toolCalls: [],
      finishReason: "length",
      stopReason: null,
      completionTokens: budget,
      toolCut: false,
    };
  }
  const contentTokens = countTokens(content);
  if (used + contentTokens > budget) {
    content = takeTokens(content, budget - used);
    return {
      reasoning,
      content,
      toolCalls: [],
      finishReason: "length",
      stopReason: null,
      completionTokens: budget,
      toolCut: false,
    };
  }
  used += contentTokens;
  if (toolCalls.length > 0) {
    const kept: PlannedToolCall[] = [];
    for (const call of toolCalls) {
      const cost = countTokens(call.name) + countTokens(call.arguments);
      if (used + cost > budget) {
        const room = Math.max(0, budget - used - countTokens(call.name));
        kept.push({ ...call, arguments: takeTokens(call.arguments, room) });
        used = budget;
        finishReason = "length";
        toolCut = true;
        break;
      }
      used += cost;
      kept.push(call);
    }
    toolCalls = kept;
  }
  return {
    reasoning,
    // Structured-output tool calls (named, required) come back with `content: ""`.
    content: content === "" && toolCalls.length > 0 && mode === "auto" ? null : content,
    toolCalls,
    finishReason,
    stopReason,
    completionTokens: used,
    toolCut,
  };
}

/** Structured-output tool calls get vLLM's random ids whatever the model's parser would say. */
function structuredIds(draft: Draft, mode: ToolMode, rng: Rng): Draft {
  if (mode === "auto" || draft.toolCalls.length === 0) return draft;
  return { ...draft, toolCalls: draft.toolCalls.map((c) => ({ ...c, id: `chatcmpl-tool-${rng.hex(16)}` })) };
}

/** Reproduces the known K2.5 parser bugs on an otherwise correct choice. */
function applyParserFaults(choice: PlannedChoice, faults: Readonly<ActiveFaults>): PlannedChoice {
  let out = choice;
  if (faults.truncateToolArgs !== undefined && out.toolCalls.length > 0) {
    const max = faults.truncateToolArgs;
    out = { ...out, toolCalls: out.toolCalls.map((c) => ({ ...c, arguments: c.arguments.slice(0, max) })) };
  }
  if (faults.leakToolMarkers && out.toolCalls.length > 0) {
    out = {
      ...out,
      content: (out.content ?? "") + kimiToolMarkers(out.toolCalls),
      toolCalls: [],
      finishReason: "stop",
    };
  }
  if (faults.thinkInContent && out.reasoning) {
    out = { ...out, content: `${out.reasoning}</think>${out.content ?? ""}`, reasoning: null };
  }
  return out;
}

export function planChat(req: ChatRequest, ctx: PlanContext): ChatPlan {
  const view = viewConversation(req, ctx.sessionId);
  const promptTokens = countPromptTokens(req);
  const budget = completionBudget(
    ctx.preset.contextLength,
    promptTokens,
    req.max_completion_tokens ?? req.max_tokens,
  );
  const thinking = thinkingEnabled(ctx.preset, req);
  const seed = requestSeed(ctx.preset.id, req);
  const n = req.n ?? 1;
  const mode = toolModeOf(req);
  const choices: PlannedChoice[] = [];
  let completionTokens = 0;
  for (let i = 0; i < n; i++) {
    const rng = createRng(seed + i * 0x9e3779b9);
    const choice = applyParserFaults(
      finishChoice(structuredIds(draftChoice(req, view, ctx, rng, thinking), mode, rng), req, budget, mode),
      ctx.faults,
    );
    completionTokens += choice.completionTokens;
    // vLLM 0.20.2 (measured) honours include_reasoning: false only in non-streamed replies.
    const hide = req.include_reasoning === false && req.stream !== true;
    choices.push(hide ? { ...choice, reasoning: null } : choice);
  }
  return { toolMode: mode, promptTokens, completionTokens, choices };
}
