/**
 * The chat-completions translation for engines without `/v1/responses` (llama.cpp), as the proxy
 * uses it. `gateway/responses/translate/index.ts` (built on its own branch) exports exactly
 * these three names, so the module itself is a ResponsesTranslator:
 * `createGateway({ responsesTranslator: await import("./responses/translate/index.ts"), … })`.
 */
import { randomUUID } from "node:crypto";

type Json = Record<string, unknown>;
export interface TranslationContext {
  id: string;
  createdAt: number;
  body: Json;
  /** The model every event names (the served model, as a passthrough Response names it). */
  model?: string;
}

export interface ResponsesTranslator {
  /** `input` is the full input item list (the state step already rebuilt it). */
  toChatRequest(body: Json, input: unknown[]): Json;
  toResponse(chat: Json, ctx: TranslationContext): Json;
  ChatToResponseStream: new (
    ctx: TranslationContext,
  ) => {
    /** response.created and response.in_progress, sent before the engine's first chunk. */
    start(): Json[];
    push(chunk: Json): Json[];
    end(): Json[];
    /** The engine failed mid-stream: open items end incomplete, then response.failed. */
    fail(message: string): Json[];
    readonly response: Json | null;
  };
}

/**
 * The context a translation names its response by: the state step's id when it keeps the
 * response (so item ids derive from the id the client and the store see), else a fresh one.
 */
export function translationContext(body: Json, model: string, id?: string): TranslationContext {
  return {
    id: id ?? `resp_${randomUUID().replaceAll("-", "")}`,
    createdAt: Math.floor(Date.now() / 1000),
    body,
    model,
  };
}

/** The chat request sent to the engine: the translation, for the served model, with usage on streams. */
export function translatedBody(
  translator: ResponsesTranslator,
  body: Json,
  modelId: string,
  stream: boolean,
): string {
  const chat = translator.toChatRequest(body, body["input"] as unknown[]);
  chat["model"] = modelId;
  if (stream) {
    chat["stream"] = true;
    chat["stream_options"] = { include_usage: true };
  } else {
    delete chat["stream"];
  }
  return JSON.stringify(chat);
}
