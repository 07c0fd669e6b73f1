import { randomUUID } from "node:crypto";
import type { ChatPlan, PlannedChoice } from "./chatPlan.ts";
import type { Frame } from "./chatRender.ts";
import type { ResponsesRequest } from "./responsesRequest.ts";
import { countTokens, splitTokens } from "./tokens.ts";

/**
 * The Responses API answer rendered the way vLLM 0.20.2's `serving.py` (simple context, a
 * text reasoning parser and a tool parser) renders it. Measured/read details kept on purpose:
 * - non-streamed output items: `rs_…` reasoning (`content: [reasoning_text]`, `summary: []`,
 *   `status: null`), `msg_…` message, `fc_…` function calls whose `call_id` is the tool
 *   parser's id (K2.5: `functions.<name>:<n>`);
 * - streamed: `event: <type>` + `data:` frames, `sequence_number` from 0, no `[DONE]`; item ids
 *   in the events are bare uuids and streamed function calls get `call_<uuid>` ids, while
 *   `response.completed` carries the output re-parsed with the non-streamed ids above;
 * - `status: "incomplete"` with `incomplete_details.reason: "max_output_tokens"` on a length cut.
 */
export interface ResponseContext {
  id: string;
  createdAt: number;
  model: string;
  request: ResponsesRequest;
}

const uuidHex = () => randomUUID().replaceAll("-", "");

/** vLLM echoes tools as the `openai` package's pydantic models dump them: every field, null when unset. */
function toolDump(tool: unknown): unknown {
  const t = tool as Record<string, unknown>;
  if (t?.["type"] !== "function") return tool;
  return {
    name: t["name"],
    parameters: t["parameters"] ?? null,
    strict: t["strict"] ?? null,
    type: "function",
    allowed_callers: null,
    async: null,
    defer_loading: null,
    description: t["description"] ?? null,
  };
}

function usage(plan: ChatPlan, choice: PlannedChoice): Record<string, unknown> {
  const reasoning = choice.reasoning ? countTokens(choice.reasoning) : 0;
  return {
    input_tokens: plan.promptTokens,
    input_tokens_details: { cached_tokens: 0, input_tokens_per_turn: [], cached_tokens_per_turn: [] },
    output_tokens: choice.completionTokens,
    output_tokens_details: {
      reasoning_tokens: reasoning,
      tool_output_tokens: 0,
      output_tokens_per_turn: [],
      tool_output_tokens_per_turn: [],
    },
    total_tokens: plan.promptTokens + choice.completionTokens,
  };
}

function outputItems(choice: PlannedChoice): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  if (choice.reasoning) {
    items.push({
      id: `rs_${uuidHex()}`,
      summary: [],
      type: "reasoning",
      content: [{ text: choice.reasoning, type: "reasoning_text" }],
      encrypted_content: null,
      status: null,
    });
  }
  if (choice.content) {
    items.push({
      id: `msg_${uuidHex()}`,
      content: [{ annotations: [], text: choice.content, type: "output_text", logprobs: null }],
      role: "assistant",
      status: "completed",
      type: "message",
    });
  }
  // vLLM's non-streamed parser finds no complete call in a reply cut inside one.
  if (!choice.toolCut) {
    for (const call of choice.toolCalls) {
      items.push({
        arguments: call.arguments,
        call_id: call.id,
        name: call.name,
        type: "function_call",
        id: `fc_${uuidHex()}`,
        // The pydantic dump's unset fields (openai 2.x's ResponseFunctionToolCall).
        async: null,
        caller: null,
        namespace: null,
        status: "completed",
      });
    }
  }
  return items;
}

function responseObject(
  ctx: ResponseContext,
  status: string,
  output: Record<string, unknown>[],
  usageJson: Record<string, unknown> | null,
  maxTokens: number,
): Record<string, unknown> {
  const e = ctx.request.echo;
  return {
    id: ctx.id,
    created_at: ctx.createdAt,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: e.instructions,
    metadata: e.metadata,
    model: ctx.model,
    object: "response",
    output,
    parallel_tool_calls: e.parallelToolCalls,
    temperature: e.temperature,
    tool_choice: e.toolChoice,
    tools: e.tools.map(toolDump),
    top_p: e.topP,
    background: e.background,
    max_output_tokens: maxTokens,
    max_tool_calls: null,
    previous_response_id: e.previousResponseId,
    prompt: null,
    reasoning: e.reasoning,
    service_tier: e.serviceTier,
    status,
    text: e.text,
    top_logprobs: null,
    truncation: e.truncation,
    usage: usageJson,
    user: e.user,
    presence_penalty: 0,
    frequency_penalty: 0,
    kv_transfer_params: null,
    input_messages: null,
    output_messages: null,
  };
}

/** vLLM sets max_output_tokens to the sampling budget when the client gave none. */
function budget(ctx: ResponseContext, contextLength: number, plan: ChatPlan): number {
  return ctx.request.echo.maxOutputTokens ?? contextLength - plan.promptTokens;
}

export function renderResponseJson(plan: ChatPlan, ctx: ResponseContext, contextLength: number): string {
  const choice = plan.choices[0]!;
  const status = choice.finishReason === "length" ? "incomplete" : "completed";
  return JSON.stringify(
    responseObject(ctx, status, outputItems(choice), usage(plan, choice), budget(ctx, contextLength, plan)),
  );
}

export function renderResponseStream(plan: ChatPlan, ctx: ResponseContext, contextLength: number): Frame[] {
  const choice = plan.choices[0]!;
  const max = budget(ctx, contextLength, plan);
  const frames: Frame[] = [];
  let seq = 0;
  const emit = (event: Record<string, unknown>, tokens = 0, early = false) => {
    const data = { ...event, sequence_number: seq++ };
    frames.push({
      data: `event: ${String(event["type"])}\ndata: ${JSON.stringify(data)}\n\n`,
      tokens,
      ...(early ? { early } : {}),
    });
  };
  const initial = responseObject(ctx, "in_progress", [], null, max);
  // vLLM yields these two before it awaits the engine's first output (responses/serving.py,
  // responses_stream_generator): a client sees them before the time to first token.
  emit({ type: "response.created", response: initial }, 0, true);
  emit({ type: "response.in_progress", response: initial }, 0, true);
  let index = 0;
  if (choice.reasoning) {
    const id = uuidHex();
    emit({
      type: "response.output_item.added",
      output_index: index,
      item: {
        id,
        summary: [],
        type: "reasoning",
        content: null,
        encrypted_content: null,
        status: "in_progress",
      },
    });
    const part = (text: string) => ({ text, type: "reasoning_text" });
    emit({
      type: "response.reasoning_part.added",
      output_index: index,
      item_id: id,
      content_index: 0,
      part: part(""),
    });
    for (const piece of splitTokens(choice.reasoning)) {
      emit(
        {
          type: "response.reasoning_text.delta",
          content_index: 0,
          output_index: index,
          item_id: id,
          delta: piece,
        },
        1,
      );
    }
    const text = choice.reasoning;
    emit({ type: "response.reasoning_text.done", item_id: id, output_index: index, content_index: 0, text });
    emit({
      type: "response.reasoning_part.done",
      item_id: id,
      output_index: index,
      content_index: 0,
      part: part(text),
    });
    emit({
      type: "response.output_item.done",
      output_index: index,
      item: {
        id,
        summary: [],
        type: "reasoning",
        content: [part(text)],
        encrypted_content: null,
        status: "completed",
      },
    });
    index++;
  }
  if (choice.content) {
    const id = randomUUID();
    const part = (text: string) => ({ annotations: [], text, type: "output_text", logprobs: [] });
    const message = (status: string, content: unknown[]) => ({
      id,
      content,
      role: "assistant",
      status,
      type: "message",
    });
    emit({ type: "response.output_item.added", output_index: index, item: message("in_progress", []) });
    emit({
      type: "response.content_part.added",
      output_index: index,
      item_id: id,
      content_index: 0,
      part: part(""),
    });
    for (const piece of splitTokens(choice.content)) {
      emit(
        {
          type: "response.output_text.delta",
          content_index: 0,
          output_index: index,
          item_id: id,
          delta: piece,
          logprobs: [],
        },
        1,
      );
    }
    const text = choice.content;
    emit({
      type: "response.output_text.done",
      output_index: index,
      content_index: 0,
      text,
      logprobs: [],
      item_id: id,
    });
    emit({
      type: "response.content_part.done",
      item_id: id,
      output_index: index,
      content_index: 0,
      part: part(text),
    });
    emit({
      type: "response.output_item.done",
      output_index: index,
      item: message("completed", [part(text)]),
    });
    index++;
  }
  for (const call of choice.toolCalls) {
    const id = uuidHex();
    const item = (status: string, args: string) => ({
      arguments: args,
      call_id: callId,
      name: call.name,
      type: "function_call",
      id,
      async: null,
      caller: null,
      namespace: null,
      status,
    });
    const callId = `call_${uuidHex()}`;
    emit({ type: "response.output_item.added", output_index: index, item: item("in_progress", "") });
    for (const piece of splitTokens(call.arguments)) {
      emit(
        { type: "response.function_call_arguments.delta", output_index: index, item_id: id, delta: piece },
        1,
      );
    }
    emit({
      type: "response.function_call_arguments.done",
      output_index: index,
      item_id: id,
      arguments: call.arguments,
      name: call.name,
    });
    emit({ type: "response.output_item.done", output_index: index, item: item("completed", call.arguments) });
    index++;
  }
  const status = choice.finishReason === "length" ? "incomplete" : "completed";
  // vLLM sends response.completed whatever the final status (incomplete included).
  emit({
    type: "response.completed",
    response: responseObject(ctx, status, outputItems(choice), usage(plan, choice), max),
  });
  return frames;
}
