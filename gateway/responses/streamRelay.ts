/**
 * Relays a Responses API stream (`event: <type>` + `data: <json>` frames, no `[DONE]`) as it
 * arrives. The terminal event (`response.completed`, `.incomplete`, `.failed`) is held back
 * until the outcome is recorded and the state step has stored the response, so a client that
 * saw the end can continue from it at once. A stream that breaks, or ends without a terminal
 * event, ends with an `error` event (OpenAI's streaming error shape) instead.
 */
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { createParser } from "eventsource-parser";
import type { Logger } from "pino";
import { errors, type GatewayError, toGatewayError } from "../errors.ts";
import { usageFromOpenAI } from "../outcome.ts";
import { streamBroke } from "../proxy/proxyErrors.ts";
import type { OutcomeRecorder } from "../proxy/requestOutcome.ts";
import { SseRelay } from "../proxy/sseRelay.ts";
import type { GatewayState } from "../state.ts";
import type { UpstreamResponse } from "../upstream/callUpstream.ts";
import { normaliseEvent } from "./normalise.ts";

export interface ResponsesStreamOptions {
  readonly replicaCooldownMs: number;
  readonly log: Logger;
  readonly idleMs: number;
}

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);
/**
 * Events that open a response before the model has produced anything: vLLM sends them before it
 * awaits the engine's first output, and a translation before the engine's first chunk. The time
 * to first token runs to the first event after them.
 */
const OPENING = new Set(["response.created", "response.in_progress", "response.queued"]);

/**
 * Turns one upstream SSE message into Responses events: the engine's own event (passthrough), or
 * the translation of a chat chunk; `[DONE]` (null) flushes a translation.
 */
export type EventSource = (data: string, event: string | undefined) => Record<string, unknown>[];

/** A passthrough source: the engine's events as they are. */
export const passthroughEvents: EventSource = (data, name) => {
  try {
    return [JSON.parse(data) as Record<string, unknown>];
  } catch {
    // Not JSON: nothing a Responses client could read (the frame is dropped).
    void name;
    return [];
  }
};

/**
 * Where the relayed events come from: the engine's own (passthrough), or a translation of its chat
 * chunks, which also opens the response before the engine's first chunk (`start`), closes it at
 * `[DONE]` (`end`) and ends it as `response.failed` when the engine's stream breaks (`fail`).
 */
export interface StreamSource {
  events: EventSource;
  start?: () => Record<string, unknown>[];
  end?: () => Record<string, unknown>[];
  fail?: (message: string) => Record<string, unknown>[];
}

/** A chat-completions stream translated to Responses events (translator.ts). */
export function translatedEvents(converter: {
  start(): Record<string, unknown>[];
  push(chunk: Record<string, unknown>): Record<string, unknown>[];
  end(): Record<string, unknown>[];
  fail(message: string): Record<string, unknown>[];
}): StreamSource {
  return {
    events: (data) => {
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        return []; // Not a chunk (a comment or keep-alive an engine may send): nothing to translate.
      }
      return chunk && typeof chunk === "object" ? converter.push(chunk as Record<string, unknown>) : [];
    },
    start: () => converter.start(),
    end: () => converter.end(),
    fail: (message) => converter.fail(message),
  };
}

export async function relayResponsesStream(
  res: ServerResponse,
  upstream: UpstreamResponse,
  state: GatewayState,
  recorder: OutcomeRecorder,
  options: ResponsesStreamOptions,
  source: StreamSource = { events: passthroughEvents },
): Promise<void> {
  const { outcome, record } = recorder;
  SseRelay.headers(res, state.clientRequestId ?? state.requestId, state.responseHeaders);
  const observer = state.replyObserver;
  let out = "";
  let terminal: string | null = null;
  let terminalType: string | null = null;
  let sawError = false;
  let usage: unknown = null as unknown;
  let firstEventAt: number | null = null;
  let lastSequence = -1;
  const onEvent = (event: Record<string, unknown>) => {
    if (typeof event["sequence_number"] === "number") lastSequence = event["sequence_number"];
    if (event["type"] === "error") sawError = true;
    normaliseEvent(event);
    observer?.event(event);
    const type = typeof event["type"] === "string" ? event["type"] : "message";
    if (firstEventAt === null && !OPENING.has(type)) firstEventAt = Date.now();
    const data = JSON.stringify(event);
    if (TERMINAL.has(type)) {
      usage ??= (event["response"] as Record<string, unknown> | undefined)?.["usage"] ?? null;
      terminalType = type;
      terminal = frame(type, data);
      return;
    }
    out += frame(type, data);
  };
  const parser = createParser({
    onEvent(e) {
      if (e.data === "[DONE]") {
        for (const event of source.end?.() ?? []) onEvent(event);
        return;
      }
      for (const event of source.events(e.data, e.event)) onEvent(event);
    },
  });
  const decoder = new TextDecoder();
  let failure: GatewayError | undefined;
  // A translation opens the response at once: the client sees response.created before the engine's first token.
  for (const event of source.start?.() ?? []) onEvent(event);
  if (out) {
    res.write(out);
    out = "";
  }
  try {
    for await (const chunk of upstream.body) {
      parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
      if (!out) continue;
      const written = res.write(out);
      out = "";
      if (!written) await drained(res);
    }
  } catch (err) {
    failure = streamBroke(err, upstream, outcome, options);
  }
  outcome.usage = usageFromOpenAI(usage);
  outcome.ttftMs = firstEventAt === null ? null : firstEventAt - state.startedAt;
  if (outcome.clientAborted) {
    record(499, "client_aborted");
    return;
  }
  if (out) res.write(out);
  if (!failure && terminal === null && !sawError) {
    failure = errors.upstreamFailed("The model backend ended the stream before it was complete.");
  }
  // A failed response is not kept (nothing to continue from), as a broken stream is not.
  if (!failure && terminal !== null && terminalType !== "response.failed" && observer) {
    try {
      await observer.finish(undefined);
    } catch (err) {
      failure = toGatewayError(err);
    }
  }
  if (failure && source.fail && terminal === null && !sawError) {
    // A translated response ends the way OpenAI ends a failed one: response.failed, metered as a failure.
    for (const event of source.fail(failure.message)) onEvent(event);
    outcome.usage = usageFromOpenAI(usage);
    record(failure.status, failure.code);
    if (!res.writableEnded && !res.destroyed) res.end(out + (terminal ?? ""));
    options.log.warn(
      { requestId: state.requestId, replica: outcome.replica, code: failure.code },
      "stream failed",
    );
    return;
  }
  if (failure) {
    record(failure.status, failure.code);
    // OpenAI's streaming error event: type, code, message, param, sequence_number.
    const error = {
      type: "error",
      code: failure.code ?? failure.type,
      message: failure.message,
      param: failure.param,
      sequence_number: lastSequence + 1,
    };
    if (!res.writableEnded && !res.destroyed) res.end(frame("error", JSON.stringify(error)));
    options.log.warn(
      { requestId: state.requestId, replica: outcome.replica, code: failure.code },
      "stream failed",
    );
    return;
  }
  const failed = sawError || terminalType === "response.failed";
  record(failed ? 502 : 200, failed ? "upstream_stream_error" : null);
  res.end(terminal ?? "");
}

function frame(type: string, data: string): string {
  return `event: ${type}\ndata: ${data}\n\n`;
}

function drained(res: ServerResponse): Promise<unknown> {
  if (res.destroyed) return Promise.resolve();
  return Promise.race([once(res, "drain"), once(res, "close")]);
}
