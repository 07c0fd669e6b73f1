import type { Engine } from "../catalog/index.ts";
import type { ChatPlan, PlannedChoice } from "./chatPlan.ts";
import { splitTokens } from "./tokens.ts";

export type ReasoningField = "reasoning" | "reasoning_content";

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
  engine: Engine;
  reasoningField: ReasoningField;
}

/** One SSE frame and how many generated tokens it carries (drives the latency model). */
export interface Frame {
  data: string;
  tokens: number;
}

export const DONE_FRAME: Frame = { data: "data: [DONE]\n\n", tokens: 0 };

export const LLAMACPP_FINGERPRINT = "b7400-simulated";

export function usageJson(engine: Engine, prompt: number, completion: number): Record<string, unknown> {
  if (engine === "llamacpp") {
    return { completion_tokens: completion, prompt_tokens: prompt, total_tokens: prompt + completion };
  }
  return {
    prompt_tokens: prompt,
    total_tokens: prompt + completion,
    completion_tokens: completion,
    prompt_tokens_details: null,
  };
}

function toolCallsJson(choice: PlannedChoice) {
  return choice.toolCalls.map((c) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: c.arguments },
  }));
}

function vllmMessage(choice: PlannedChoice, field: ReasoningField): Record<string, unknown> {
  return {
    role: "assistant",
    content: choice.content,
    refusal: null,
    annotations: null,
    audio: null,
    function_call: null,
    tool_calls: toolCallsJson(choice),
    [field]: choice.reasoning,
  };
}

function llamacppMessage(choice: PlannedChoice, field: ReasoningField): Record<string, unknown> {
  const msg: Record<string, unknown> = { role: "assistant", content: choice.content };
  if (choice.reasoning) msg[field] = choice.reasoning;
  if (choice.toolCalls.length > 0) msg["tool_calls"] = toolCallsJson(choice);
  return msg;
}

export function renderChatJson(plan: ChatPlan, meta: ResponseMeta): string {
  const usage = usageJson(meta.engine, plan.promptTokens, plan.completionTokens);
  if (meta.engine === "llamacpp") {
    return JSON.stringify({
      choices: plan.choices.map((c, index) => ({
        finish_reason: c.finishReason,
        index,
        message: llamacppMessage(c, meta.reasoningField),
      })),
      created: meta.created,
      model: meta.model,
      system_fingerprint: LLAMACPP_FINGERPRINT,
      object: "chat.completion",
      usage,
      id: meta.id,
    });
  }
  return JSON.stringify({
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: plan.choices.map((c, index) => ({
      index,
      message: vllmMessage(c, meta.reasoningField),
      logprobs: null,
      finish_reason: c.finishReason,
      stop_reason: c.stopReason,
      token_ids: null,
    })),
    service_tier: null,
    system_fingerprint: null,
    usage,
    prompt_logprobs: null,
    prompt_token_ids: null,
    kv_transfer_params: null,
  });
}

interface Delta {
  json: string;
  tokens: number;
}

function choiceDeltas(choice: PlannedChoice, field: ReasoningField, emptyToolCalls: boolean): Delta[] {
  const out: Delta[] = [];
  if (choice.reasoning) {
    for (const piece of splitTokens(choice.reasoning))
      out.push({ json: JSON.stringify({ [field]: piece }), tokens: 1 });
  }
  if (choice.content) {
    for (const piece of splitTokens(choice.content))
      out.push({ json: JSON.stringify({ content: piece }), tokens: 1 });
  }
  // The K2.5 bug under load: the parser loses the calls but still reports finish_reason tool_calls.
  if (emptyToolCalls) return out;
  choice.toolCalls.forEach((call, index) => {
    const head = {
      tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }],
    };
    out.push({ json: JSON.stringify(head), tokens: 1 });
    for (const piece of splitTokens(call.arguments)) {
      out.push({
        json: JSON.stringify({ tool_calls: [{ index, function: { arguments: piece } }] }),
        tokens: 1,
      });
    }
  });
  return out;
}

export interface StreamOptions {
  includeUsage: boolean;
  emptyToolCalls: boolean;
}

/** All frames of a chat stream, vLLM's order: role chunk, deltas (interleaved across choices), finals, usage, [DONE]. */
export function renderChatStream(plan: ChatPlan, meta: ResponseMeta, opts: StreamOptions): Frame[] {
  const llama = meta.engine === "llamacpp";
  const head =
    `data: {"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},` +
    `"model":${JSON.stringify(meta.model)},${llama ? `"system_fingerprint":"${LLAMACPP_FINGERPRINT}",` : ""}"choices":[`;
  const frame = (choiceJson: string, tokens: number): Frame => ({
    data: `${head}${choiceJson}]}\n\n`,
    tokens,
  });
  const tail = llama ? "" : ',"logprobs":null';
  const frames: Frame[] = [];
  const roleDelta = llama ? '{"role":"assistant","content":null}' : '{"role":"assistant","content":""}';
  plan.choices.forEach((_c, i) => {
    frames.push(frame(`{"index":${i},"delta":${roleDelta}${tail},"finish_reason":null}`, 0));
  });
  const perChoice = plan.choices.map((c) => choiceDeltas(c, meta.reasoningField, opts.emptyToolCalls));
  const steps = Math.max(0, ...perChoice.map((d) => d.length));
  for (let step = 0; step < steps; step++) {
    perChoice.forEach((deltas, i) => {
      const d = deltas[step];
      if (d) frames.push(frame(`{"index":${i},"delta":${d.json}${tail},"finish_reason":null}`, d.tokens));
    });
  }
  plan.choices.forEach((c, i) => {
    const delta = c.finishReason === "tool_calls" || llama ? "{}" : '{"content":""}';
    const stop = llama ? "" : `,"stop_reason":${JSON.stringify(c.stopReason)}`;
    frames.push(
      frame(`{"index":${i},"delta":${delta}${tail},"finish_reason":"${c.finishReason}"${stop}}`, 0),
    );
  });
  if (opts.includeUsage) {
    const usage = JSON.stringify(usageJson(meta.engine, plan.promptTokens, plan.completionTokens));
    frames.push({ data: `${head}],"usage":${usage}}\n\n`, tokens: 0 });
  }
  frames.push(DONE_FRAME);
  return frames;
}
