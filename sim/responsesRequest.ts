import type { ChatMessage, ChatRequest, ToolChoice, ToolDefinition } from "./chatRequest.ts";
import { badRequest, SimError } from "./errors.ts";

/**
 * A Responses API request turned into the chat request the simulator plans from, the way
 * vLLM 0.20.2 does it (`construct_input_messages` then the chat template): `instructions`
 * become a system message, input items become messages, `function_call` items assistant
 * tool calls and `function_call_output` items tool messages. Reasoning items are not sent
 * back to the model (K2.5's template drops past thinking).
 */
export interface ResponsesRequest {
  chat: ChatRequest;
  /** What the response object echoes back. */
  echo: {
    instructions: string | null;
    metadata: unknown;
    tools: unknown[];
    toolChoice: unknown;
    parallelToolCalls: boolean;
    temperature: number;
    topP: number;
    maxOutputTokens: number | null;
    previousResponseId: string | null;
    reasoning: unknown;
    text: unknown;
    user: unknown;
    serviceTier: string;
    truncation: string;
    background: boolean;
  };
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) => (p && typeof p === "object" && typeof p.text === "string" ? (p.text as string) : ""))
    .filter(Boolean)
    .join("\n");
}

function inputMessages(input: unknown): ChatMessage[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input)) throw badRequest("input: Input should be a valid string or list", "input");
  const messages: ChatMessage[] = [];
  for (const item of input as Record<string, unknown>[]) {
    if (!item || typeof item !== "object") throw badRequest("input: each item must be an object", "input");
    const type = item["type"] ?? "message";
    if (type === "message") {
      if (typeof item["role"] !== "string") throw badRequest("input: a message needs a role", "input");
      messages.push({ role: item["role"], content: contentText(item["content"]) });
    } else if (type === "function_call") {
      const call = {
        id: String(item["call_id"] ?? ""),
        type: "function",
        function: { name: String(item["name"] ?? ""), arguments: String(item["arguments"] ?? "") },
      };
      // Consecutive calls belong to one assistant turn (parallel tool calls).
      const last = messages[messages.length - 1];
      if (last?.role === "assistant" && last.tool_calls && !last.content) last.tool_calls.push(call);
      else messages.push({ role: "assistant", content: "", tool_calls: [call] });
    } else if (type === "function_call_output") {
      const output = item["output"];
      messages.push({
        role: "tool",
        tool_call_id: String(item["call_id"] ?? ""),
        content: typeof output === "string" ? output : contentText(output),
      });
    } else if (type === "reasoning") {
      // Dropped: past thinking is not part of the next prompt.
    } else {
      throw badRequest(`Unsupported input item type: ${String(type)}`, "input");
    }
  }
  return messages;
}

function chatTools(tools: unknown): ToolDefinition[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw badRequest("tools: Input should be a valid list", "tools");
  return (tools as Record<string, unknown>[])
    .filter((t) => t?.["type"] === "function")
    .map((t) => {
      if (typeof t["name"] !== "string") throw badRequest("tools: a function tool needs a name", "tools");
      return {
        type: "function",
        function: {
          name: t["name"],
          ...(typeof t["description"] === "string" ? { description: t["description"] } : {}),
          parameters: t["parameters"] ?? { type: "object", properties: {} },
        },
      };
    });
}

function chatToolChoice(choice: unknown, tools: ToolDefinition[] | undefined): ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (typeof choice === "object" && (choice as { type?: unknown }).type === "function") {
    const name = String((choice as { name?: unknown }).name);
    if (!(tools ?? []).some((t) => t.function.name === name)) {
      throw badRequest(`Tool '${name}' has not been passed in \`tools\`.`, "tool_choice");
    }
    return { type: "function", function: { name } };
  }
  throw badRequest("tool_choice: unsupported value", "tool_choice");
}

function number(body: Record<string, unknown>, key: string, min: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw badRequest(`${key}: Input should be a number greater than or equal to ${min}`, key);
  }
  return v;
}

export function parseResponsesRequest(body: Record<string, unknown>): ResponsesRequest {
  if (!("input" in body)) {
    throw new SimError(400, "input: Field required", { validation: true });
  }
  const instructions = typeof body["instructions"] === "string" ? body["instructions"] : null;
  const messages = [
    ...(instructions ? [{ role: "system", content: instructions }] : []),
    ...inputMessages(body["input"]),
  ];
  if (messages.length === 0) throw badRequest("input: List should have at least 1 item", "input");
  const tools = chatTools(body["tools"]);
  const toolChoice = chatToolChoice(body["tool_choice"], tools);
  const maxOutputTokens = number(body, "max_output_tokens", 1);
  const temperature = number(body, "temperature", 0);
  const topP = number(body, "top_p", 0);
  const chat: ChatRequest = {
    messages,
    stream: body["stream"] === true,
    ...(tools && tools.length > 0 ? { tools } : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(body["parallel_tool_calls"] === false ? { parallel_tool_calls: false } : {}),
    ...(maxOutputTokens !== undefined ? { max_tokens: maxOutputTokens } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(body["chat_template_kwargs"] && typeof body["chat_template_kwargs"] === "object"
      ? { chat_template_kwargs: body["chat_template_kwargs"] as ChatRequest["chat_template_kwargs"] }
      : {}),
  };
  return {
    chat,
    echo: {
      instructions,
      metadata: body["metadata"] ?? null,
      tools: Array.isArray(body["tools"]) ? (body["tools"] as unknown[]) : [],
      toolChoice: body["tool_choice"] ?? "auto",
      parallelToolCalls: body["parallel_tool_calls"] !== false,
      temperature: temperature ?? 1,
      topP: topP ?? 1,
      maxOutputTokens: maxOutputTokens ?? null,
      previousResponseId:
        typeof body["previous_response_id"] === "string" ? body["previous_response_id"] : null,
      reasoning: body["reasoning"] ?? null,
      text: body["text"] ?? null,
      user: body["user"] ?? null,
      serviceTier: typeof body["service_tier"] === "string" ? body["service_tier"] : "auto",
      truncation: typeof body["truncation"] === "string" ? body["truncation"] : "disabled",
      background: body["background"] === true,
    },
  };
}
