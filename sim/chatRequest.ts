import type { Engine } from "../catalog/index.ts";
import { badRequest, SimError, validationError } from "./errors.ts";
import { countTokens } from "./tokens.ts";

/** The subset of an OpenAI chat request the simulator reads; everything else is accepted and ignored. */
export interface ChatMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
}

export interface ToolDefinition {
  type: string;
  function: { name: string; description?: string; parameters?: unknown; strict?: boolean };
}

export type ToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

export interface ChatRequest {
  model?: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
  temperature?: number | null;
  seed?: number | null;
  tools?: ToolDefinition[] | null;
  tool_choice?: ToolChoice | null;
  parallel_tool_calls?: boolean | null;
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown } } | null;
  chat_template_kwargs?: { thinking?: boolean; enable_thinking?: boolean } | null;
  /** vLLM: false drops the reasoning from a non-streamed reply (the model still thinks and counts it). */
  include_reasoning?: boolean | null;
}

/** What script rules and the generator look at, computed once per request. */
export interface ConversationView {
  lastRole: string;
  lastUserText: string;
  lastToolResult: string | null;
  systemText: string;
  toolNames: string[];
  /** 1-based number of the assistant reply being generated. */
  turn: number;
  /** Tool calls already made by the assistant in this conversation (K2.5 ids continue from here). */
  priorToolCalls: number;
  /** Every message's role (`developer` counts as `system`) and text, in order, for script rules. */
  messages: { role: string; text: string }[];
  /** Function name of the last tool call the assistant made, if any. */
  lastToolName: string | null;
  /**
   * A tool result arrived after the assistant's last message (a tool call): the model should now
   * answer, even when a framework appended a user message after the result (OpenClaw does).
   */
  toolResultSinceLastCall: boolean;
  /** The request's `X-Session-Id` header. */
  sessionId: string | undefined;
}

export function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    let text = "";
    for (const part of content) {
      if (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string") {
        text += (text ? "\n" : "") + (part as { text: string }).text;
      }
    }
    return text;
  }
  return "";
}

function optionalNumber(body: Record<string, unknown>, key: string, min: number): void {
  const v = body[key];
  if (v === undefined || v === null) return;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw badRequest(`${key}: Input should be a number greater than or equal to ${min}`, key);
  }
}

/** Hand-written checks (not zod) because this runs on every request of the hot path. */
export function validateChatRequest(body: Record<string, unknown>, engine: Engine = "vllm"): ChatRequest {
  const messages = body["messages"];
  if (engine === "vllm") validateLikeVllm(body);
  if (!Array.isArray(messages)) throw badRequest("messages: Field required", "messages");
  if (messages.length === 0) throw badRequest("messages: List should have at least 1 item", "messages");
  for (const m of messages) {
    if (!m || typeof m !== "object" || typeof (m as { role?: unknown }).role !== "string") {
      throw badRequest("messages: each message needs a string 'role'", "messages");
    }
  }
  optionalNumber(body, "max_tokens", 1);
  optionalNumber(body, "max_completion_tokens", 1);
  optionalNumber(body, "n", 1);
  optionalNumber(body, "temperature", 0);
  const tools = body["tools"];
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) throw badRequest("tools: Input should be a valid list", "tools");
    for (const t of tools) {
      if (!t || typeof t !== "object" || typeof (t as ToolDefinition).function?.name !== "string") {
        throw badRequest("tools: each tool needs function.name", "tools");
      }
    }
  }
  const choice = body["tool_choice"];
  if (choice && typeof choice === "object") {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    const known = ((tools as ToolDefinition[] | undefined) ?? []).some((t) => t.function.name === name);
    if (!known) throw badRequest(`Tool '${String(name)}' has not been passed in \`tools\`.`, "tool_choice");
  }
  return body as unknown as ChatRequest;
}

/** The checks vLLM 0.20.2 makes before generating (each measured on the reference engine). */
function validateLikeVllm(body: Record<string, unknown>): void {
  if (!("messages" in body)) {
    throw validationError("Field required", body, "('body', 'messages')", "missing");
  }
  const tools = body["tools"];
  if (Array.isArray(tools) && tools.length === 0) {
    throw validationError(
      "Value error, `tools` must not be an empty array. Either provide at least one tool or omit the field entirely.",
      body,
    );
  }
  const choice = body["tool_choice"];
  if (
    choice !== undefined &&
    choice !== null &&
    choice !== "none" &&
    (tools === undefined || tools === null)
  ) {
    throw validationError("Value error, When using `tool_choice`, `tools` must be set.", body);
  }
  if (choice && typeof choice === "object" && Array.isArray(tools)) {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (!tools.some((t) => (t as ToolDefinition | null)?.function?.name === name)) {
      throw validationError(
        "Value error, The tool specified in `tool_choice` does not match any of the specified `tools`",
        body,
      );
    }
  }
  const n = body["n"];
  if (typeof n === "number" && n > 1 && body["temperature"] === 0) {
    throw new SimError(400, `n must be 1 when using greedy sampling, got ${n}.`);
  }
}

export function viewConversation(req: ChatRequest, sessionId?: string): ConversationView {
  const msgs = req.messages;
  let lastUserText = "";
  let lastToolResult: string | null = null;
  let systemText = "";
  let assistantTurns = 0;
  let priorToolCalls = 0;
  let lastToolName: string | null = null;
  let toolResultSinceLastCall = false;
  const messages: { role: string; text: string }[] = [];
  for (const m of msgs) {
    const text = messageText(m.content);
    messages.push({ role: m.role === "developer" ? "system" : m.role, text });
    if (m.role === "user") lastUserText = text;
    else if (m.role === "system" || m.role === "developer") systemText += text;
    else if (m.role === "tool") {
      lastToolResult = text;
      if (lastToolName !== null) toolResultSinceLastCall = true;
    } else if (m.role === "assistant") {
      assistantTurns++;
      if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
        priorToolCalls += m.tool_calls.length;
        lastToolName = m.tool_calls[m.tool_calls.length - 1]?.function?.name ?? null;
      }
      // A text answer closes the round: the next user message is a new request.
      toolResultSinceLastCall = false;
    }
  }
  return {
    messages,
    lastToolName,
    toolResultSinceLastCall,
    sessionId,
    lastRole: msgs[msgs.length - 1]?.role ?? "user",
    lastUserText,
    lastToolResult,
    systemText,
    toolNames: (req.tools ?? []).map((t) => t.function.name),
    turn: assistantTurns + 1,
    priorToolCalls,
  };
}

/** Per-message overhead approximates chat-template tokens (role markers, separators). */
const MESSAGE_OVERHEAD = 4;

export function countPromptTokens(req: ChatRequest): number {
  let total = 2;
  for (const m of req.messages) {
    total += MESSAGE_OVERHEAD + countTokens(messageText(m.content));
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls) {
        total += countTokens(call.function?.name ?? "") + countTokens(call.function?.arguments ?? "");
      }
    }
  }
  if (req.tools && req.tools.length > 0) total += countTokens(JSON.stringify(req.tools));
  return total;
}

/** The longest double-quoted substring, used verbatim for string arguments. */
export function longestQuoted(text: string): string | undefined {
  let best: string | undefined;
  const re = /"([^"]*)"/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const s = m[1]!;
    if (s.length > 0 && (best === undefined || s.length > best.length)) best = s;
  }
  return best;
}
