/**
 * Responses input items → chat messages. An assistant turn in the Responses API is several items
 * (reasoning, message, function_call…); in chat it is one assistant message with `content`,
 * `tool_calls` and (llama-server's field) `reasoning_content`, followed by one `tool` message per
 * function_call_output.
 */

import { errors } from "../../errors.ts";

type Json = Record<string, unknown>;

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}
export type ChatContent = string | Json[];
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: ChatContent | null;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  reasoning_content?: string;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(item: Json, key: string, param: string): string {
  const v = item[key];
  if (typeof v !== "string")
    throw errors.invalidRequest(`\`${param}.${key}\` must be a string.`, `${param}.${key}`);
  return v;
}

/** A content part list → chat content: one text part becomes a plain string (what chat templates expect). */
function content(parts: unknown, param: string, role: string): ChatContent {
  if (typeof parts === "string") return parts;
  if (!Array.isArray(parts)) {
    throw errors.invalidRequest(`\`${param}\` must be a string or a list of content parts.`, param);
  }
  const out: Json[] = parts.map((part, i) => contentPart(part, `${param}[${i}]`, role));
  if (out.every((p) => p["type"] === "text")) {
    if (out.length === 1) return out[0]!["text"] as string;
  }
  return out;
}

function contentPart(part: unknown, param: string, role: string): Json {
  if (!isObject(part)) throw errors.invalidRequest(`\`${param}\` must be a content part object.`, param);
  const type = part["type"];
  switch (type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: str(part, "text", param) };
    case "refusal":
      // An assistant refusal is what the assistant said; chat has no separate place for it in a prompt.
      return { type: "text", text: str(part, "refusal", param) };
    case "input_image": {
      if (role !== "user") break;
      const url = part["image_url"];
      if (typeof url !== "string" || !url) {
        throw errors.invalidRequest(
          `\`${param}\`: only images given by \`image_url\` (an https or data URL) are supported; \`file_id\` is not.`,
          `${param}.image_url`,
        );
      }
      const detail = typeof part["detail"] === "string" ? part["detail"] : "auto";
      return { type: "image_url", image_url: { url, detail } };
    }
  }
  throw errors.invalidRequest(
    `Content parts of type \`${String(type)}\` are not supported${type === "input_image" ? ` in ${role} messages` : ""} by this model's engine.`,
    `${param}.type`,
    "unsupported_content_type",
  );
}

const ROLES: Record<string, ChatMessage["role"]> = {
  user: "user",
  assistant: "assistant",
  system: "system",
  // Chat templates of open models know `system`, not OpenAI's `developer`; they mean the same.
  developer: "system",
};

/** Text of a reasoning item: its reasoning_text content, else its summary. */
function reasoningText(item: Json): string {
  const pick = (list: unknown) =>
    Array.isArray(list)
      ? list
          .map((p) => (isObject(p) && typeof p["text"] === "string" ? p["text"] : ""))
          .filter(Boolean)
          .join("\n")
      : "";
  return pick(item["content"]) || pick(item["summary"]);
}

function toolOutput(output: unknown, param: string): string {
  if (typeof output === "string") return output;
  const c = content(output, param, "tool");
  if (typeof c === "string") return c;
  if (c.every((p) => p["type"] === "text")) return c.map((p) => p["text"]).join("\n");
  throw errors.invalidRequest(`\`${param}\`: a function call output may only contain text here.`, param);
}

/**
 * The body's `input` as an item list: a string is one user message (the spec's shorthand). The
 * caller prepends the items rebuilt from `previous_response_id` to this list.
 */
export function inputItems(input: unknown): unknown[] {
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  if (Array.isArray(input)) return input;
  if (input == null) return [];
  throw errors.invalidRequest("`input` must be a string or a list of input items.", "input");
}

export function toChatMessages(input: readonly unknown[], instructions: unknown): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (typeof instructions === "string" && instructions)
    messages.push({ role: "system", content: instructions });
  else if (instructions != null && typeof instructions !== "string") {
    throw errors.invalidRequest("`instructions` must be a string.", "instructions");
  }
  // Reasoning belongs to the assistant message that follows it in the same turn.
  let pendingReasoning = "";
  // A function_call right after an assistant message is part of that message's turn (chat puts
  // the text and the calls in one message); otherwise it opens an assistant message of its own.
  const assistantTurn = (): ChatMessage => {
    const last = messages.at(-1);
    if (last?.role === "assistant") return last;
    const msg: ChatMessage = { role: "assistant", content: null };
    messages.push(msg);
    return msg;
  };
  const takeReasoning = (msg: ChatMessage) => {
    if (!pendingReasoning) return;
    msg.reasoning_content = (msg.reasoning_content ?? "") + pendingReasoning;
    pendingReasoning = "";
  };

  input.forEach((raw, i) => {
    const param = `input[${i}]`;
    if (typeof raw === "string") {
      messages.push({ role: "user", content: raw });
      return;
    }
    if (!isObject(raw)) throw errors.invalidRequest(`\`${param}\` must be an input item object.`, param);
    const type = raw["type"] ?? (raw["role"] !== undefined ? "message" : undefined);
    switch (type) {
      case "message": {
        const role = ROLES[String(raw["role"])];
        if (!role) {
          throw errors.invalidRequest(
            `\`${param}.role\` must be one of user, assistant, system, developer.`,
            `${param}.role`,
          );
        }
        const c = content(raw["content"], `${param}.content`, String(raw["role"]));
        const msg: ChatMessage = { role, content: c };
        if (role === "assistant") takeReasoning(msg);
        messages.push(msg);
        return;
      }
      case "function_call": {
        const msg = assistantTurn();
        takeReasoning(msg);
        msg.tool_calls ??= [];
        msg.tool_calls.push({
          id: str(raw, "call_id", param),
          type: "function",
          function: { name: str(raw, "name", param), arguments: str(raw, "arguments", param) },
        });
        return;
      }
      case "function_call_output":
        messages.push({
          role: "tool",
          tool_call_id: str(raw, "call_id", param),
          content: toolOutput(raw["output"], `${param}.output`),
        });
        return;
      case "reasoning":
        pendingReasoning += reasoningText(raw);
        return;
      case "item_reference":
        throw errors.invalidRequest(
          `\`${param}\`: item references are not supported by this model's engine; send the item itself.`,
          `${param}.type`,
          "unsupported_input_item",
        );
    }
    throw errors.invalidRequest(
      `Input items of type \`${String(type)}\` are not supported by this model's engine (it runs function tools only).`,
      `${param}.type`,
      "unsupported_input_item",
    );
  });
  return messages;
}
