/**
 * The pieces of a Response object both directions share: output items, usage and the envelope
 * that echoes the request. toResponse and ChatToResponseStream build through these same
 * functions, so a streamed reply and a non-streamed one end in the same object.
 */

type Json = Record<string, unknown>;

export type ItemStatus = "in_progress" | "completed" | "incomplete";
export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ReasoningItem {
  type: "reasoning";
  id: string;
  summary: [];
  content: { type: "reasoning_text"; text: string }[];
  status: ItemStatus;
}
export interface OutputText {
  type: "output_text";
  text: string;
  annotations: [];
  logprobs: [];
}
export interface MessageItem {
  type: "message";
  id: string;
  role: "assistant";
  status: ItemStatus;
  content: OutputText[];
}
export interface FunctionCallItem {
  type: "function_call";
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: ItemStatus;
}
export type OutputItem = ReasoningItem | MessageItem | FunctionCallItem;

/** What the caller knows about the response before the engine answers. */
export interface ResponseContext {
  id: string;
  createdAt: number;
  body: Json;
  /**
   * The model the Response names. Optional: without it the engine's `model` is used (and, before
   * the engine has answered, the body's). Set it to name the model the same way in every event
   * when response.created is sent before the engine's first chunk.
   */
  model?: string;
}

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/**
 * Item ids derive from the response id and the item's place in `output`: the stream and the
 * non-streamed path name the same item the same way, and a stored response keeps stable ids.
 */
export function itemId(ctx: ResponseContext, prefix: "rs" | "msg" | "fc", outputIndex: number): string {
  const base = ctx.id.startsWith("resp_") ? ctx.id.slice(5) : ctx.id;
  return `${prefix}_${base}_${outputIndex}`;
}

/** A call id for an engine that sent a tool call without one (the client must echo some id back). */
export function fallbackCallId(ctx: ResponseContext, toolIndex: number): string {
  return `call_${itemId(ctx, "fc", toolIndex).slice(3)}`;
}

export function reasoningItem(id: string, text: string, status: ItemStatus): ReasoningItem {
  // vLLM's shape: the raw chain of thought as `reasoning_text` content, no summary (the engine
  // writes none; inventing one would put words in the model's mouth).
  return { type: "reasoning", id, summary: [], content: [{ type: "reasoning_text", text }], status };
}

export function outputText(text: string): OutputText {
  return { type: "output_text", text, annotations: [], logprobs: [] };
}

export function messageItem(id: string, text: string, status: ItemStatus): MessageItem {
  return { type: "message", id, role: "assistant", status, content: [outputText(text)] };
}

export function functionCallItem(
  id: string,
  callId: string,
  name: string,
  args: string,
  status: ItemStatus,
): FunctionCallItem {
  return { type: "function_call", id, call_id: callId, name, arguments: args, status };
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/**
 * Chat usage → Responses usage. Cached and reasoning counts are the engine's own details when it
 * reports them; llama-server reports neither, so they are 0 rather than an estimate.
 */
export function toResponseUsage(usage: unknown): ResponseUsage | null {
  if (!usage || typeof usage !== "object") return null;
  const u = usage as Json;
  const prompt = (u["prompt_tokens_details"] ?? {}) as Json;
  const completion = (u["completion_tokens_details"] ?? {}) as Json;
  const input = count(u["prompt_tokens"]);
  const output = count(u["completion_tokens"]);
  return {
    input_tokens: input,
    // The engines' prefix cache has no billed cache writes, so the spec's required count is 0.
    input_tokens_details: { cached_tokens: count(prompt["cached_tokens"]), cache_write_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: count(completion["reasoning_tokens"]) },
    total_tokens: typeof u["total_tokens"] === "number" ? u["total_tokens"] : input + output,
  };
}

/** Chat finish_reason → the Response's status and incomplete_details. */
export function finishStatus(finishReason: unknown): {
  status: "completed" | "incomplete";
  incomplete: { reason: "max_output_tokens" | "content_filter" } | null;
} {
  if (finishReason === "length") return { status: "incomplete", incomplete: { reason: "max_output_tokens" } };
  if (finishReason === "content_filter")
    return { status: "incomplete", incomplete: { reason: "content_filter" } };
  return { status: "completed", incomplete: null };
}

function echo<T>(body: Json, key: string, fallback: T): unknown {
  const v = body[key];
  return v === undefined ? fallback : v;
}

export interface EnvelopeState {
  model: string;
  status: ResponseStatus;
  output: OutputItem[];
  usage: ResponseUsage | null;
  incomplete: { reason: string } | null;
  error?: { code: string; message: string } | null;
}

/**
 * The whole Response object. Request parameters are echoed as the client sent them (the spec
 * requires them on the object); sampling parameters the client left out are `null`, meaning
 * "the engine's default", which the gateway does not know.
 */
export function envelope(ctx: ResponseContext, s: EnvelopeState): Json {
  const b = ctx.body;
  const text = (b["text"] && typeof b["text"] === "object" ? b["text"] : {}) as Json;
  return {
    id: ctx.id,
    object: "response",
    created_at: ctx.createdAt,
    status: s.status,
    ...(s.status === "completed" ? { completed_at: Math.floor(Date.now() / 1000) } : {}),
    background: echo(b, "background", false),
    error: s.error ?? null,
    incomplete_details: s.incomplete,
    instructions: echo(b, "instructions", null),
    max_output_tokens: echo(b, "max_output_tokens", null),
    max_tool_calls: echo(b, "max_tool_calls", null),
    model: s.model,
    output: s.output,
    parallel_tool_calls: echo(b, "parallel_tool_calls", true) ?? true,
    previous_response_id: echo(b, "previous_response_id", null),
    prompt_cache_key: echo(b, "prompt_cache_key", null),
    reasoning: echo(b, "reasoning", null),
    safety_identifier: echo(b, "safety_identifier", null),
    service_tier: echo(b, "service_tier", "default") ?? "default",
    store: echo(b, "store", true) ?? true,
    temperature: echo(b, "temperature", null),
    text: { format: { type: "text" }, ...text },
    tool_choice: echo(b, "tool_choice", "auto") ?? "auto",
    tools: echoTools(b["tools"]),
    top_logprobs: echo(b, "top_logprobs", 0) ?? 0,
    top_p: echo(b, "top_p", null),
    truncation: echo(b, "truncation", "disabled") ?? "disabled",
    // The spec types usage as an object, never null: a response without usage (still in progress,
    // or an engine that sent none) leaves the field out.
    ...(s.usage ? { usage: s.usage } : {}),
    ...(typeof b["user"] === "string" ? { user: b["user"] } : {}),
    metadata: echo(b, "metadata", {}) ?? {},
  };
}

/** The function tools as OpenAI echoes them: every field present, null where the client gave none. */
function echoTools(tools: unknown): Json[] {
  if (!Array.isArray(tools)) return [];
  return tools.map((t: Json) => ({
    ...t,
    type: "function",
    name: t["name"],
    description: t["description"] ?? null,
    parameters: t["parameters"] ?? null,
    strict: t["strict"] ?? null,
  }));
}

/** The model the Response names: the engine's answer when it gave one, else what the client asked. */
export function responseModel(chatModel: unknown, ctx: ResponseContext): string {
  if (ctx.model) return ctx.model;
  if (typeof chatModel === "string" && chatModel) return chatModel;
  return typeof ctx.body["model"] === "string" ? ctx.body["model"] : "";
}
