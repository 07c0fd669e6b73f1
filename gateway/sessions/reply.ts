/**
 * The assistant message a session stores for a reply: a non-streamed answer's
 * `choices[0].message` as the client received it, or a streamed answer's message
 * assembled from its deltas (content, reasoning, tool calls with their ids, in order).
 * Reasoning is kept once, as `reasoning` (the gateway may send it to clients in both
 * fields; the engine reads one, and upstreamBody moves it where the engine wants it).
 */
import { type TokenUsage, usageFromOpenAI } from "../outcome.ts";
import type { Message } from "./history.ts";

export interface Reply {
  message: Message;
  usage: TokenUsage | null;
}

/** From a non-streamed chat completion; undefined when it carries no message. */
export function replyFromJson(json: Record<string, unknown>): Reply | undefined {
  const choice = (json["choices"] as Message[] | undefined)?.[0];
  const message = choice?.["message"] as Message | undefined;
  if (!message || typeof message !== "object") return undefined;
  return { message: oneReasoningField({ ...message }), usage: usageFromOpenAI(json["usage"]) };
}

interface ToolCallParts {
  id: string | undefined;
  type: string;
  name: string;
  arguments: string;
}

/** Accumulates a stream's deltas for choice 0 (a session request has n = 1). */
export class StreamedReply {
  private role = "assistant";
  private content = "";
  private sawContent = false;
  private reasoning = "";
  private readonly calls: ToolCallParts[] = [];
  private usage: unknown = null;

  event(event: Record<string, unknown>): void {
    if (event["usage"]) this.usage = event["usage"];
    const choices = event["choices"];
    if (!Array.isArray(choices)) return;
    for (const choice of choices as Message[]) {
      if ((choice?.["index"] ?? 0) !== 0) continue;
      const delta = choice["delta"] as Message | undefined;
      if (delta) this.delta(delta);
    }
  }

  private delta(delta: Message): void {
    if (typeof delta["role"] === "string") this.role = delta["role"];
    if (typeof delta["content"] === "string") {
      this.content += delta["content"];
      if (delta["content"] !== "") this.sawContent = true;
    }
    const reasoning =
      typeof delta["reasoning"] === "string" ? delta["reasoning"] : delta["reasoning_content"];
    if (typeof reasoning === "string") this.reasoning += reasoning;
    if (!Array.isArray(delta["tool_calls"])) return;
    for (const call of delta["tool_calls"] as Message[]) {
      const index = typeof call["index"] === "number" ? call["index"] : this.calls.length;
      let parts = this.calls[index];
      if (!parts) {
        parts = { id: undefined, type: "function", name: "", arguments: "" };
        this.calls[index] = parts;
      }
      if (typeof call["id"] === "string") parts.id = call["id"];
      if (typeof call["type"] === "string") parts.type = call["type"];
      const fn = call["function"] as Message | undefined;
      if (typeof fn?.["name"] === "string") parts.name += fn["name"];
      if (typeof fn?.["arguments"] === "string") parts.arguments += fn["arguments"];
    }
  }

  finish(): Reply {
    const calls = this.calls.filter((c) => c !== undefined);
    const message: Message = {
      role: this.role,
      // As a non-streamed answer has it: null when the reply is only tool calls.
      content: this.sawContent || calls.length === 0 ? this.content : null,
    };
    if (this.reasoning) message["reasoning"] = this.reasoning;
    if (calls.length > 0) {
      message["tool_calls"] = calls.map((c) => ({
        id: c.id,
        type: c.type,
        function: { name: c.name, arguments: c.arguments },
      }));
    }
    return { message, usage: usageFromOpenAI(this.usage) };
  }
}

function oneReasoningField(message: Message): Message {
  if (typeof message["reasoning"] !== "string" && typeof message["reasoning_content"] === "string") {
    message["reasoning"] = message["reasoning_content"];
  }
  delete message["reasoning_content"];
  return message;
}
