import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { Middleware } from "koa";
import type { Logger } from "pino";
import { endpointSpec } from "../endpoints.ts";
import { errors, GatewayError, toGatewayError } from "../errors.ts";
import { type Endpoint, type OutcomeSink, type RequestOutcome, usageFromOpenAI } from "../outcome.ts";
import type { GatewayState } from "../state.ts";
import { callUpstream, type UpstreamResponse } from "../upstream/callUpstream.ts";
import { fromUpstreamError } from "../upstream/upstreamError.ts";
import { normaliseReasoningIn, normaliseReasoningOut, type ReasoningOutput } from "./reasoning.ts";
import { SseRelay } from "./sseRelay.ts";

export interface ProxyOptions {
  readonly reasoningOutput: ReasoningOutput;
  readonly replicaCooldownMs: number;
  readonly onOutcome: OutcomeSink;
  readonly log: Logger;
  /** GONKA_ENGINE_API_KEY: the key engines were started with, if any. */
  readonly engineApiKey?: string | undefined;
}

/** Forwards a routed request to a replica of its model and relays the answer, streamed or not. */
export function proxyHandler(endpoint: Endpoint, options: ProxyOptions): Middleware<GatewayState> {
  return async function proxy(ctx) {
    const route = ctx.state.route!;
    const body = route.body;
    const model = route.pool.model;
    const stream = endpoint !== "embeddings" && body["stream"] === true;
    const streamOptions = (body["stream_options"] ?? {}) as Record<string, unknown>;
    const outcome: RequestOutcome = {
      requestId: ctx.state.requestId,
      clientRequestId: ctx.state.clientRequestId ?? null,
      endpoint,
      modelRequested: route.requested,
      modelServed: model.id,
      replica: null,
      sessionId: ctx.state.sessionId ?? null,
      keyId: ctx.state.key?.id ?? null,
      tier: ctx.state.key?.tier ?? null,
      status: 0,
      streamed: stream,
      clientAborted: false,
      usage: null,
      ttftMs: null,
      latencyMs: 0,
      errorCode: null,
    };
    let recorded = false;
    const record = (status: number, code: string | null) => {
      if (recorded) return;
      recorded = true;
      outcome.status = status;
      outcome.errorCode = code;
      outcome.latencyMs = Date.now() - ctx.state.startedAt;
      ctx.state.outcome = outcome;
      options.onOutcome(outcome);
    };

    // Forward the client's bytes untouched unless the backend needs something changed:
    // an alias resolved, usage asked for, reasoning moved to the field the engine reads.
    let changed = false;
    if (body["model"] !== model.id) {
      body["model"] = model.id;
      changed = true;
    }
    if (stream && streamOptions["include_usage"] !== true) {
      body["stream_options"] = { ...streamOptions, include_usage: true };
      changed = true;
    }
    if (
      endpoint === "chat.completions" &&
      normaliseReasoningIn(body["messages"], model.backendReasoningField)
    ) {
      changed = true;
    }
    const upstreamBody = changed || !ctx.state.rawBody ? JSON.stringify(body) : ctx.state.rawBody;

    // Stop the GPU work as soon as the client goes away.
    const abort = new AbortController();
    const res = ctx.res;
    const onClose = () => {
      if (!res.writableFinished) {
        outcome.clientAborted = true;
        abort.abort();
      }
    };
    res.once("close", onClose);

    let upstream: UpstreamResponse | undefined;
    try {
      upstream = await callUpstream({
        pool: route.pool,
        path: endpointSpec(endpoint).path,
        body: upstreamBody,
        stream,
        engineApiKey: options.engineApiKey,
        requestId: ctx.state.requestId,
        sessionId: ctx.state.sessionId,
        signal: abort.signal,
        cooldownMs: options.replicaCooldownMs,
      });
      outcome.replica = upstream.replica.id;
      if (upstream.statusCode !== 200)
        throw fromUpstreamError(upstream.statusCode, await upstream.body.text());
      if (stream) {
        ctx.respond = false;
        await relayStream(
          ctx.res,
          upstream,
          ctx.state,
          outcome,
          options,
          streamOptions["include_usage"] === true,
          record,
        );
      } else {
        const raw = Buffer.from(await upstream.body.arrayBuffer());
        const answer = rewriteJson(raw, outcome, options.reasoningOutput, model.engine === "llamacpp");
        record(200, null);
        // Written here rather than through Koa's respond(): headers set so far (request id,
        // rate limits) are already on `res`, and the body is ready bytes.
        ctx.respond = false;
        res.writeHead(200, { "content-type": "application/json", "content-length": answer.length });
        res.end(answer);
      }
    } catch (err) {
      if (outcome.clientAborted) {
        record(499, "client_aborted");
        return;
      }
      const error = normaliseError(err, model.id, model.timeouts.idleMs);
      record(error.status, error.code);
      throw error;
    } finally {
      upstream?.release();
      res.off("close", onClose);
    }
  };
}

async function relayStream(
  res: ServerResponse,
  upstream: UpstreamResponse,
  state: GatewayState,
  outcome: RequestOutcome,
  options: ProxyOptions,
  clientWantsUsage: boolean,
  record: (status: number, code: string | null) => void,
): Promise<void> {
  SseRelay.headers(res, state.clientRequestId ?? state.requestId, state.responseHeaders);
  const relay = new SseRelay(res, { clientWantsUsage, reasoningOutput: options.reasoningOutput });
  let failure: GatewayError | undefined;
  try {
    for await (const chunk of upstream.body) {
      if (!relay.push(chunk as Buffer)) await drained(res);
    }
  } catch (err) {
    if (!outcome.clientAborted) {
      failure = normaliseError(err, outcome.modelServed ?? "", 0);
      upstream.replica.markFailed(
        `stream broke: ${(err as Error).message}`,
        options.replicaCooldownMs,
        "unhealthy",
      );
    }
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

/** Reads usage and normalises reasoning fields; re-serialises only when something changed. */
function rewriteJson(
  raw: Buffer,
  outcome: RequestOutcome,
  mode: ReasoningOutput,
  fillNulls: boolean,
): Buffer {
  // The backend's bytes go back as they came unless something must change:
  // no re-encoding, and Koa need not measure a string.
  const text = raw.toString("utf8");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw errors.upstreamFailed("The model backend returned a body that is not JSON.");
  }
  outcome.usage = usageFromOpenAI(json["usage"]);
  const hasReasoning = text.includes('"reasoning');
  if (!hasReasoning && !fillNulls) return raw;
  let changed = false;
  for (const choice of (json["choices"] ?? []) as Record<string, unknown>[]) {
    const message = choice?.["message"] as Record<string, unknown> | undefined;
    if (hasReasoning && message && normaliseReasoningOut(message, mode)) changed = true;
    if (fillNulls && choice && message) changed = fillRequiredNulls(choice, message) || changed;
  }
  return changed ? Buffer.from(JSON.stringify(json)) : raw;
}

/**
 * OpenAI's schema requires `choices[].logprobs` and `message.refusal` (null when
 * unused); llama-server leaves them out, and strict clients reject the answer.
 */
function fillRequiredNulls(choice: Record<string, unknown>, message: Record<string, unknown>): boolean {
  let changed = false;
  if (!("logprobs" in choice)) {
    choice["logprobs"] = null;
    changed = true;
  }
  if (!("refusal" in message)) {
    message["refusal"] = null;
    changed = true;
  }
  return changed;
}

function normaliseError(err: unknown, modelId: string, idleMs: number): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code;
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return errors.upstreamTimeout(`The backend for \`${modelId}\` went silent for more than ${idleMs} ms.`);
  }
  if (code?.startsWith("UND_ERR") || code === "ECONNRESET") {
    return errors.upstreamFailed(`The connection to the backend for \`${modelId}\` broke.`, err);
  }
  return toGatewayError(err);
}
