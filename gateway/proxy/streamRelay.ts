import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import { errors, type GatewayError, toGatewayError } from "../errors.ts";
import { usageFromOpenAI } from "../outcome.ts";
import type { GatewayState } from "../state.ts";
import type { UpstreamResponse } from "../upstream/callUpstream.ts";
import { streamBroke } from "./proxyErrors.ts";
import type { ReasoningOutput } from "./reasoning.ts";
import type { OutcomeRecorder } from "./requestOutcome.ts";
import { SseRelay } from "./sseRelay.ts";

export interface StreamRelayOptions {
  readonly reasoningOutput: ReasoningOutput;
  readonly replicaCooldownMs: number;
  readonly log: Logger;
  /** The client asked for `stream_options.include_usage`. */
  readonly clientWantsUsage: boolean;
  /** The model's longest allowed silence between chunks, for the timeout message. */
  readonly idleMs: number;
}

/**
 * Relays an SSE answer as it arrives. A stream that breaks after the first byte ends with
 * an OpenAI error event (never a silent end without `[DONE]`), and the replica that broke
 * it sits out a cool-down. The outcome is recorded before the closing bytes.
 */
export async function relayStream(
  res: ServerResponse,
  upstream: UpstreamResponse,
  state: GatewayState,
  recorder: OutcomeRecorder,
  options: StreamRelayOptions,
): Promise<void> {
  const { outcome, record } = recorder;
  SseRelay.headers(res, state.clientRequestId ?? state.requestId, state.responseHeaders);
  const relay = new SseRelay(res, {
    clientWantsUsage: options.clientWantsUsage,
    reasoningOutput: options.reasoningOutput,
    observe: state.replyObserver ? (e) => state.replyObserver!.event(e) : undefined,
  });
  let failure: GatewayError | undefined;
  try {
    for await (const chunk of upstream.body) {
      if (!relay.push(chunk as Buffer)) await drained(res);
    }
  } catch (err) {
    failure = streamBroke(err, upstream, outcome, options);
  }
  const { usage, sawDone, sawError, firstEventAt } = relay.state;
  outcome.usage = usageFromOpenAI(usage);
  outcome.ttftMs = firstEventAt === null ? null : firstEventAt - state.startedAt;
  if (outcome.clientAborted) {
    record(499, "client_aborted");
    return;
  }
  if (!failure && !sawDone && !sawError) {
    failure = errors.upstreamFailed("The model backend ended the stream before it was complete.");
  }
  if (!failure && !sawError && state.replyObserver) {
    // A complete answer: the session stores the turn before [DONE], or the stream ends in its error.
    try {
      await state.replyObserver.finish(undefined);
    } catch (err) {
      failure = toGatewayError(err);
    }
  }
  if (failure) {
    record(failure.status, failure.code);
    relay.fail(failure);
    options.log.warn(
      { requestId: state.requestId, replica: outcome.replica, code: failure.code },
      "stream failed",
    );
    return;
  }
  record(sawError ? 502 : 200, sawError ? "upstream_stream_error" : null);
  relay.finish();
}

function drained(res: ServerResponse): Promise<unknown> {
  if (res.destroyed) return Promise.resolve();
  return Promise.race([once(res, "drain"), once(res, "close")]);
}
