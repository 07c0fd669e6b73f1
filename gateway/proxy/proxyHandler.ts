import type { Middleware } from "koa";
import type { Logger } from "pino";
import { endpointSpec } from "../endpoints.ts";
import { errors, GatewayError } from "../errors.ts";
import type { Endpoint, OutcomeSink } from "../outcome.ts";
import { relayResponsesStream, translatedEvents } from "../responses/streamRelay.ts";
import { relayTranslatedJson } from "../responses/translatedJson.ts";
import { type ResponsesTranslator, translatedBody, translationContext } from "../responses/translator.ts";
import type { GatewayState } from "../state.ts";
import { callUpstream, type UpstreamResponse } from "../upstream/callUpstream.ts";
import { fromUpstreamError } from "../upstream/upstreamError.ts";
import { abortOnClientClose } from "./clientAbort.ts";
import { relayJson } from "./jsonRelay.ts";
import { normaliseError } from "./proxyErrors.ts";
import type { ReasoningOutput } from "./reasoning.ts";
import { startOutcome } from "./requestOutcome.ts";
import { relayStream } from "./streamRelay.ts";
import { upstreamBody } from "./upstreamBody.ts";

export interface ProxyOptions {
  readonly reasoningOutput: ReasoningOutput;
  readonly replicaCooldownMs: number;
  readonly onOutcome: OutcomeSink;
  readonly log: Logger;
  /** GONKA_ENGINE_API_KEY: the key engines were started with, if any. */
  readonly engineApiKey?: string | undefined;
  /** `/v1/responses` for engines without it (llama.cpp): translated to chat completions. */
  readonly responsesTranslator?: ResponsesTranslator | undefined;
}

/**
 * Forwards a routed request to a replica of its model and relays the answer, streamed or
 * not. Each step lives in its own module: the outcome (requestOutcome), the body sent
 * upstream (upstreamBody), client-abort wiring (clientAbort), the upstream call with its
 * retries (upstream/callUpstream), the relays (jsonRelay, streamRelay) and error mapping
 * (proxyErrors).
 */
export function proxyHandler(endpoint: Endpoint, options: ProxyOptions): Middleware<GatewayState> {
  return async function proxy(ctx) {
    const route = ctx.state.route!;
    let model = route.pool.model;
    const stream = endpoint !== "embeddings" && route.body["stream"] === true;
    const clientWantsUsage =
      (route.body["stream_options"] as Record<string, unknown> | undefined)?.["include_usage"] === true;
    const recorder = startOutcome(ctx.state, endpoint, stream, options.onOutcome);
    const abort = abortOnClientClose(ctx.res, recorder.outcome);
    let upstream: UpstreamResponse | undefined;
    let translated = false;
    try {
      // A router alias may name fallbacks: tried in order while nothing has reached the client.
      const pools = route.fallbacks?.length ? [route.pool, ...route.fallbacks] : [route.pool];
      for (let i = 0; ; i++) {
        const pool = pools[i]!;
        model = pool.model;
        recorder.outcome.modelServed = model.id;
        translated = endpoint === "responses" && model.engine === "llamacpp";
        try {
          upstream = await callUpstream({
            pool,
            path: translated ? "/v1/chat/completions" : endpointSpec(endpoint).path,
            body: translated
              ? translatedBody(requireTranslator(options, model.id), route.body, model.id, stream)
              : upstreamBody(endpoint, model, route.body, i === 0 ? ctx.state.rawBody : undefined, stream),
            stream,
            engineApiKey: options.engineApiKey,
            requestId: ctx.state.requestId,
            sessionId: ctx.state.sessionId,
            signal: abort.signal,
            cooldownMs: options.replicaCooldownMs,
          });
          route.pool = pool;
          break;
        } catch (err) {
          if (i + 1 >= pools.length || abort.signal.cancelled || !fallsBack(err, stream)) throw err;
          options.log.info(
            {
              requestId: ctx.state.requestId,
              from: model.id,
              to: pools[i + 1]!.model.id,
              reason: (err as Error).message,
            },
            "tiering fallback",
          );
        }
      }
      recorder.outcome.replica = upstream.replica.id;
      if (upstream.statusCode !== 200)
        throw fromUpstreamError(upstream.statusCode, await upstream.body.text());
      route.tiering?.onServed?.(model.id);
      // Both relays write to the socket themselves (streaming needs to; see each module).
      ctx.respond = false;
      if (translated) {
        const translator = requireTranslator(options, model.id);
        const tctx = translationContext(route.body, model.id, ctx.state.replyObserver?.responseId);
        if (stream) {
          const converter = new translator.ChatToResponseStream(tctx);
          await relayResponsesStream(
            ctx.res,
            upstream,
            ctx.state,
            recorder,
            { ...options, idleMs: model.timeouts.idleMs },
            translatedEvents(converter),
          );
        } else {
          await relayTranslatedJson(ctx.res, upstream, recorder, {
            translator,
            ctx: tctx,
            observer: ctx.state.replyObserver,
          });
        }
      } else if (stream && endpoint === "responses") {
        await relayResponsesStream(ctx.res, upstream, ctx.state, recorder, {
          ...options,
          idleMs: model.timeouts.idleMs,
        });
      } else if (stream) {
        await relayStream(ctx.res, upstream, ctx.state, recorder, {
          ...options,
          clientWantsUsage,
          idleMs: model.timeouts.idleMs,
        });
      } else {
        await relayJson(ctx.res, upstream, recorder, {
          reasoningOutput: options.reasoningOutput,
          fillNulls: model.engine === "llamacpp",
          observer: ctx.state.replyObserver,
          usageAtTail: endpoint !== "responses",
        });
      }
    } catch (err) {
      if (recorder.outcome.clientAborted) {
        recorder.record(499, "client_aborted");
        return;
      }
      ctx.respond = true;
      const error = normaliseError(err, model.id, model.timeouts.idleMs);
      recorder.record(error.status, error.code);
      throw error;
    } finally {
      upstream?.release();
      abort.dispose();
    }
  };
}

/**
 * Whether the next model of a tiering rule should serve after this failure: the model had
 * no healthy replica, every replica answered 5xx or could not be reached, or (streamed) none
 * sent a first byte in time. A non-streamed request that outlived its generation budget was
 * being worked on, so it is not sent again (the same reason replicas do not retry it).
 */
function fallsBack(err: unknown, stream: boolean): boolean {
  if (!(err instanceof GatewayError)) return false;
  return err.status === 502 || err.status === 503 || (err.status === 504 && stream);
}

/** The translation for a llama.cpp-served model, or a 400 naming why there is none. */
function requireTranslator(options: ProxyOptions, modelId: string): ResponsesTranslator {
  if (options.responsesTranslator) return options.responsesTranslator;
  throw errors.invalidRequest(
    `The model \`${modelId}\` runs on llama.cpp, which has no Responses API, and this gateway has no translation to chat completions: use /v1/chat/completions for it.`,
    "model",
    "model_not_supported",
  );
}
