import type { Engine } from "../catalog/index.ts";
import type { ChatPlan, PlannedChoice, ToolMode } from "./chatPlan.ts";
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
  /** Sent before generation starts, ahead of the time to first token (vLLM's `response.created`). */
  early?: boolean;
}

export const DONE_FRAME: Frame = { data: "data: [DONE]\n\n", tokens: 0 };

export const LLAMACPP_FINGERPRINT = "b7400-simulated";

export function usageJson(
  engine: Engine,
  prompt: number,
  completion: number,
  streamed = false,
): Record<string, unknown> {
  // vLLM's streamed usage chunk has no prompt_tokens_details key (the non-streamed body has null).
  if (engine === "llamacpp" || streamed) {
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
  // vLLM's non-streamed K2.5 parser finds no complete call in a reply cut inside one: it drops it.
  const cut = choice.toolCut;
  return {
    role: "assistant",
    content: cut && choice.content === "" ? null : choice.content,
    refusal: null,
    annotations: null,
    audio: null,
    function_call: null,
    tool_calls: cut ? [] : toolCallsJson(choice),
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

/** llama-server's deltas: reasoning, content, then each call as a head and argument pieces. */
function llamaDeltas(choice: PlannedChoice, field: ReasoningField, emptyToolCalls: boolean): Delta[] {
  const out: Delta[] = [];
  if (choice.reasoning) {
    for (const piece of splitTokens(choice.reasoning))
      out.push({ json: JSON.stringify({ [field]: piece }), tokens: 1 });
  }
  if (choice.content) {
    for (const piece of splitTokens(choice.content))
      out.push({ json: JSON.stringify({ content: piece }), tokens: 1 });
  }
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

/**
 * vLLM 0.20.2's deltas, as its serving code frames them: content deltas carry `tool_calls: []`;
 * tool-parser (auto) deltas carry `content: null`, the head has the name and no `arguments`;
 * structured-output (named/required) heads carry the first argument piece, and `required` pieces
 * carry `name: null`. Returns the deltas and the final chunk's delta.
 */
function vllmDeltas(
  choice: PlannedChoice,
  field: ReasoningField,
  mode: ToolMode,
  emptyToolCalls: boolean,
): { deltas: Delta[]; final: string } {
  const out: Delta[] = [];
  if (choice.reasoning) {
    for (const piece of splitTokens(choice.reasoning))
      out.push({ json: JSON.stringify({ [field]: piece }), tokens: 1 });
  }
  if (choice.content) {
    for (const piece of splitTokens(choice.content))
      out.push({ json: JSON.stringify({ content: piece, tool_calls: [] }), tokens: 1 });
  }
  // The K2.5 bug under load: the parser loses the calls but still reports finish_reason tool_calls.
  const calls = emptyToolCalls ? [] : choice.toolCalls;
  calls.forEach((call, index) => {
    const pieces = splitTokens(call.arguments);
    if (mode === "auto") {
      const head = { index, id: call.id, type: "function", function: { name: call.name } };
      out.push({ json: JSON.stringify({ content: null, tool_calls: [head] }), tokens: 1 });
      for (const piece of pieces) {
        const delta = { content: null, tool_calls: [{ index, function: { arguments: piece } }] };
        out.push({ json: JSON.stringify(delta), tokens: 1 });
      }
      return;
    }
    const first = {
      index,
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: pieces[0] ?? "" },
    };
    out.push({ json: JSON.stringify({ tool_calls: [first] }), tokens: 1 });
    for (const piece of pieces.slice(1)) {
      const fn = mode === "required" ? { name: null, arguments: piece } : { arguments: piece };
      out.push({ json: JSON.stringify({ tool_calls: [{ index, function: fn }] }), tokens: 1 });
    }
  });
  // A reply cut by max_tokens or a stop string ends on a text token: its piece rides on the final
  // chunk. A reply that ends with the end-of-sequence token gets an empty final delta.
  if (choice.finishReason === "length" || choice.stopReason !== null) {
    const last = out.pop();
    if (last && choice.toolCut && mode === "auto") {
      const piece = (JSON.parse(last.json) as { tool_calls?: { function?: { arguments?: string } }[] })
        .tool_calls?.[0]?.function?.arguments;
      const index = calls.length - 1;
      const tail = { index, id: null, type: null, function: { name: null, arguments: piece ?? "" } };
      return { deltas: out, final: JSON.stringify({ tool_calls: [tail] }) };
    }
    return { deltas: out, final: last ? last.json : "{}" };
  }
  if (mode === "named" && calls.length > 0) {
    return {
      deltas: out,
      final: JSON.stringify({ tool_calls: [{ index: 0, function: { arguments: "" } }] }),
    };
  }
  return { deltas: out, final: "{}" };
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
  const frame = (choiceJson: string, tokens: number, after = ""): Frame => ({
    data: `${head}${choiceJson}]${after}}\n\n`,
    tokens,
  });
  const tail = llama ? "" : ',"logprobs":null';
  // vLLM puts `token_ids: null` on every chunk but the role chunk, and `prompt_token_ids` on that one.
  const ids = llama ? "" : ',"token_ids":null';
  const frames: Frame[] = [];
  const roleDelta = llama ? '{"role":"assistant","content":null}' : '{"role":"assistant","content":""}';
  plan.choices.forEach((_c, i) => {
    frames.push(
      frame(
        `{"index":${i},"delta":${roleDelta}${tail},"finish_reason":null}`,
        0,
        llama ? "" : ',"prompt_token_ids":null',
      ),
    );
  });
  const perChoice = plan.choices.map((c) =>
    llama
      ? { deltas: llamaDeltas(c, meta.reasoningField, opts.emptyToolCalls), final: "{}" }
      : vllmDeltas(c, meta.reasoningField, plan.toolMode, opts.emptyToolCalls),
  );
  const steps = Math.max(0, ...perChoice.map((d) => d.deltas.length));
  for (let step = 0; step < steps; step++) {
    perChoice.forEach((p, i) => {
      const d = p.deltas[step];
      if (d)
        frames.push(frame(`{"index":${i},"delta":${d.json}${tail},"finish_reason":null${ids}}`, d.tokens));
    });
  }
  plan.choices.forEach((c, i) => {
    const stop = llama ? "" : `,"stop_reason":${JSON.stringify(c.stopReason)}`;
    // A streamed tool call cut by max_tokens is reported as finished with tool_calls by vLLM.
    const reason = !llama && c.toolCut && plan.toolMode === "auto" ? "tool_calls" : c.finishReason;
    const delta = perChoice[i]!.final;
    const tokens = delta === "{}" ? 0 : 1;
    frames.push(
      frame(`{"index":${i},"delta":${delta}${tail},"finish_reason":"${reason}"${stop}${ids}}`, tokens),
    );
  });
  if (opts.includeUsage) {
    const usage = JSON.stringify(usageJson(meta.engine, plan.promptTokens, plan.completionTokens, true));
    frames.push({ data: `${head}],"usage":${usage}}\n\n`, tokens: 0 });
  }
  frames.push(DONE_FRAME);
  return frames;
}
