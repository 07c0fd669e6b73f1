/**
 * A non-streamed chat.completion → the Response object: reasoning first, then the assistant's
 * text, then one function_call item per tool call (the order the model produced them in).
 */

import {
  envelope,
  fallbackCallId,
  finishStatus,
  functionCallItem,
  type ItemStatus,
  itemId,
  messageItem,
  type OutputItem,
  type ResponseContext,
  reasoningItem,
  responseModel,
  toResponseUsage,
} from "./output.ts";

type Json = Record<string, unknown>;

/** The reasoning text of a message or delta: vLLM >= 0.16 writes `reasoning`, llama-server `reasoning_content`. */
export function reasoningOf(msg: Json): string {
  const r = msg["reasoning_content"] ?? msg["reasoning"];
  return typeof r === "string" ? r : "";
}

export function toResponse(chat: Record<string, unknown>, ctx: ResponseContext): Record<string, unknown> {
  const choices = Array.isArray(chat["choices"]) ? (chat["choices"] as Json[]) : [];
  const choice = choices[0] ?? {};
  const msg = (choice["message"] ?? {}) as Json;
  const { status, incomplete } = finishStatus(choice["finish_reason"]);
  const output: OutputItem[] = [];
  const reasoning = reasoningOf(msg);
  if (reasoning) output.push(reasoningItem(itemId(ctx, "rs", output.length), reasoning, "completed"));
  const content = typeof msg["content"] === "string" ? msg["content"] : "";
  if (content) output.push(messageItem(itemId(ctx, "msg", output.length), content, "completed"));
  const calls = Array.isArray(msg["tool_calls"]) ? (msg["tool_calls"] as Json[]) : [];
  calls.forEach((call, i) => {
    const fn = (call["function"] ?? {}) as Json;
    output.push(
      functionCallItem(
        itemId(ctx, "fc", output.length),
        typeof call["id"] === "string" && call["id"] ? call["id"] : fallbackCallId(ctx, i),
        typeof fn["name"] === "string" ? fn["name"] : "",
        typeof fn["arguments"] === "string" ? fn["arguments"] : "",
        "completed",
      ),
    );
  });
  markLast(output, status === "incomplete" ? "incomplete" : "completed");
  return envelope(ctx, {
    model: responseModel(chat["model"], ctx),
    status,
    output,
    usage: toResponseUsage(chat["usage"]),
    incomplete,
  });
}

/** A reply cut by the token limit leaves its last item unfinished; OpenAI marks that item incomplete. */
export function markLast(output: OutputItem[], status: ItemStatus): void {
  const last = output.at(-1);
  if (last) last.status = status;
}
