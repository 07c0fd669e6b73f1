/**
 * Streaming: chat.completion.chunk objects in, Responses stream events out, in the order OpenAI
 * emits them: response.created, response.in_progress, then per output item
 * output_item.added → (content_part.added → text deltas → text done → content_part.done |
 * function_call_arguments deltas → done) → output_item.done, and response.completed (or
 * response.incomplete) carrying usage. One item is open at a time, except parallel tool calls,
 * which stay open together until something else starts or the stream ends.
 */

import {
  envelope,
  type FunctionCallItem,
  fallbackCallId,
  finishStatus,
  functionCallItem,
  type ItemStatus,
  itemId,
  type MessageItem,
  messageItem,
  type OutputItem,
  outputText,
  type ReasoningItem,
  type ResponseContext,
  type ResponseUsage,
  reasoningItem,
  responseModel,
  toResponseUsage,
} from "./output.ts";
import { reasoningOf } from "./response.ts";

type Json = Record<string, unknown>;
export type StreamEvent = Record<string, unknown> & { type: string; sequence_number: number };

interface OpenText {
  kind: "reasoning" | "message";
  outputIndex: number;
  id: string;
  text: string;
}
interface OpenCall {
  outputIndex: number;
  id: string;
  callId: string;
  name: string;
  args: string;
}

export class ChatToResponseStream {
  readonly #ctx: ResponseContext;
  #seq = 0;
  #started = false;
  #ended = false;
  #model = "";
  /** Finished items, and placeholders for open ones, in output order. */
  #output: OutputItem[] = [];
  #text: OpenText | null = null;
  /** Open tool calls by the chat delta's tool_calls[].index. */
  #calls = new Map<number, OpenCall>();
  #toolCount = 0;
  #finishReason: unknown = null;
  #usage: ResponseUsage | null = null;
  #response: Record<string, unknown> | null = null;

  constructor(ctx: ResponseContext) {
    this.#ctx = ctx;
  }

  /** The final Response object (for storing), once end() or fail() has run. */
  get response(): Record<string, unknown> | null {
    return this.#response;
  }

  /**
   * response.created and response.in_progress now, before the engine's first chunk (so a client
   * sees the response start at once); push() sends them otherwise. Idempotent.
   */
  start(): Record<string, unknown>[] {
    const events: StreamEvent[] = [];
    if (!this.#ended) this.#start(events, undefined);
    return events;
  }

  push(chunk: Record<string, unknown>): Record<string, unknown>[] {
    if (this.#ended) return [];
    // An engine's mid-stream error event (`data: {"error":{…}}`, vLLM and llama-server) ends the
    // response as failed, so a caller that feeds every frame still sends a terminal event.
    const error = chunk["error"];
    if (error && typeof error === "object" && !Array.isArray(chunk["choices"])) {
      const message = (error as Json)["message"];
      return this.fail(typeof message === "string" && message ? message : "The engine failed mid-stream.");
    }
    const events: StreamEvent[] = [];
    this.#start(events, chunk["model"]);
    const usage = toResponseUsage(chunk["usage"]);
    if (usage) this.#usage = usage;
    const choices = Array.isArray(chunk["choices"]) ? (chunk["choices"] as Json[]) : [];
    const choice = choices.find((c) => (c["index"] ?? 0) === 0);
    if (!choice) return events;
    const delta = (choice["delta"] ?? {}) as Json;
    const reasoning = reasoningOf(delta);
    if (reasoning) this.#textDelta(events, "reasoning", reasoning);
    const content = delta["content"];
    if (typeof content === "string" && content) this.#textDelta(events, "message", content);
    if (Array.isArray(delta["tool_calls"])) {
      for (const tc of delta["tool_calls"] as Json[]) this.#callDelta(events, tc);
    }
    if (choice["finish_reason"] != null) this.#finishReason = choice["finish_reason"];
    return events;
  }

  end(): Record<string, unknown>[] {
    if (this.#ended) return [];
    const events: StreamEvent[] = [];
    this.#start(events, undefined);
    const { status, incomplete } = finishStatus(this.#finishReason);
    this.#closeAll(events, status === "incomplete" ? "incomplete" : "completed");
    this.#ended = true;
    this.#response = this.#snapshot(status, incomplete);
    this.#emit(events, status === "completed" ? "response.completed" : "response.incomplete", {
      response: this.#response,
    });
    return events;
  }

  /**
   * The engine failed mid-stream: open items end as incomplete and the stream ends with
   * response.failed (OpenAI's terminal event for a failed response) carrying the error.
   */
  fail(message: string, code = "server_error"): Record<string, unknown>[] {
    if (this.#ended) return [];
    const events: StreamEvent[] = [];
    this.#start(events, undefined);
    this.#closeAll(events, "incomplete");
    this.#ended = true;
    this.#response = this.#snapshot("failed", null, { code, message });
    this.#emit(events, "response.failed", { response: this.#response });
    return events;
  }

  #emit(events: StreamEvent[], type: string, fields: Json): void {
    events.push({ type, ...structuredClone(fields), sequence_number: this.#seq++ });
  }

  #snapshot(
    status: "in_progress" | "completed" | "incomplete" | "failed",
    incomplete: { reason: string } | null,
    error: { code: string; message: string } | null = null,
  ): Record<string, unknown> {
    return envelope(this.#ctx, {
      model: this.#model,
      status,
      output: status === "in_progress" ? [] : structuredClone(this.#output),
      usage: status === "in_progress" ? null : this.#usage,
      incomplete,
      error,
    });
  }

  #start(events: StreamEvent[], chunkModel: unknown): void {
    if (this.#started) return;
    this.#started = true;
    this.#model = responseModel(chunkModel, this.#ctx);
    const snapshot = this.#snapshot("in_progress", null);
    this.#emit(events, "response.created", { response: snapshot });
    this.#emit(events, "response.in_progress", { response: snapshot });
  }

  #textDelta(events: StreamEvent[], kind: OpenText["kind"], piece: string): void {
    let open = this.#text;
    if (!open || open.kind !== kind) {
      this.#closeAll(events, "completed");
      const outputIndex = this.#output.length;
      open = {
        kind,
        outputIndex,
        id: itemId(this.#ctx, kind === "reasoning" ? "rs" : "msg", outputIndex),
        text: "",
      };
      this.#text = open;
      const item: ReasoningItem | MessageItem =
        kind === "reasoning"
          ? { ...reasoningItem(open.id, "", "in_progress"), content: [] }
          : { ...messageItem(open.id, "", "in_progress"), content: [] };
      this.#output.push(item);
      this.#emit(events, "response.output_item.added", { output_index: outputIndex, item });
      this.#emit(events, "response.content_part.added", {
        item_id: open.id,
        output_index: outputIndex,
        content_index: 0,
        part: kind === "reasoning" ? { type: "reasoning_text", text: "" } : outputText(""),
      });
    }
    open.text += piece;
    const where = { item_id: open.id, output_index: open.outputIndex, content_index: 0, delta: piece };
    if (kind === "reasoning") this.#emit(events, "response.reasoning_text.delta", where);
    else this.#emit(events, "response.output_text.delta", { ...where, logprobs: [] });
  }

  #callDelta(events: StreamEvent[], tc: Json): void {
    const index = typeof tc["index"] === "number" ? tc["index"] : 0;
    const fn = (tc["function"] ?? {}) as Json;
    let call = this.#calls.get(index);
    if (!call) {
      // A new call ends any open text item; earlier calls stay open (parallel calls may interleave).
      this.#closeText(events, "completed");
      const outputIndex = this.#output.length;
      call = {
        outputIndex,
        id: itemId(this.#ctx, "fc", outputIndex),
        callId:
          typeof tc["id"] === "string" && tc["id"] ? tc["id"] : fallbackCallId(this.#ctx, this.#toolCount),
        name: typeof fn["name"] === "string" ? fn["name"] : "",
        args: "",
      };
      this.#toolCount++;
      this.#calls.set(index, call);
      const item = functionCallItem(call.id, call.callId, call.name, "", "in_progress");
      this.#output.push(item);
      this.#emit(events, "response.output_item.added", { output_index: outputIndex, item });
    } else if (!call.name && typeof fn["name"] === "string") {
      // An engine that sends the name after the head: the done events and the final item carry it.
      call.name = fn["name"];
    }
    const piece = fn["arguments"];
    if (typeof piece === "string" && piece) {
      call.args += piece;
      this.#emit(events, "response.function_call_arguments.delta", {
        item_id: call.id,
        output_index: call.outputIndex,
        delta: piece,
      });
    }
  }

  /** Closes every open item; `lastStatus` goes to the last of them (the one a cut reply left unfinished). */
  #closeAll(events: StreamEvent[], lastStatus: ItemStatus): void {
    this.#closeText(events, lastStatus);
    const calls = [...this.#calls.values()].sort((a, b) => a.outputIndex - b.outputIndex);
    calls.forEach((call, i) => {
      const status = i === calls.length - 1 ? lastStatus : "completed";
      this.#emit(events, "response.function_call_arguments.done", {
        item_id: call.id,
        output_index: call.outputIndex,
        name: call.name,
        arguments: call.args,
      });
      const item: FunctionCallItem = functionCallItem(call.id, call.callId, call.name, call.args, status);
      this.#output[call.outputIndex] = item;
      this.#emit(events, "response.output_item.done", { output_index: call.outputIndex, item });
    });
    // Call indices are not reused: a later delta with a closed index is a new call in chat's terms
    // only if the engine restarts numbering, which it does not within one reply.
    this.#calls.clear();
  }

  #closeText(events: StreamEvent[], status: ItemStatus): void {
    const open = this.#text;
    if (!open) return;
    this.#text = null;
    const where = { item_id: open.id, output_index: open.outputIndex, content_index: 0 };
    let item: OutputItem;
    if (open.kind === "reasoning") {
      item = reasoningItem(open.id, open.text, status);
      this.#emit(events, "response.reasoning_text.done", { ...where, text: open.text });
      this.#emit(events, "response.content_part.done", {
        ...where,
        part: { type: "reasoning_text", text: open.text },
      });
    } else {
      item = messageItem(open.id, open.text, status);
      this.#emit(events, "response.output_text.done", { ...where, text: open.text, logprobs: [] });
      this.#emit(events, "response.content_part.done", { ...where, part: outputText(open.text) });
    }
    this.#output[open.outputIndex] = item;
    this.#emit(events, "response.output_item.done", { output_index: open.outputIndex, item });
  }
}
