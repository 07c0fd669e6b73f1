/**
 * The state step of `POST /v1/responses` (after routing and admission, before the proxy).
 * The engine keeps nothing: the gateway sends it the whole input, rebuilt from its own store
 * when the client continues with `previous_response_id`, with `store: false` and no previous
 * id. With `store` (OpenAI's default), the response is kept in the chain's session (chain.ts)
 * under the gateway's own id, before its last bytes reach the client, so the client's next
 * turn always finds it. Without an API key (a keyless test gateway) nothing is kept.
 */
import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { TierConfig } from "../config/schema.ts";
import type { GatewayState } from "../state.ts";
import { Conflict } from "../store/errors.ts";
import type { SessionRepository } from "../store/index.ts";
import {
  contextThrough,
  ENTRY_OBJECT,
  inputItems,
  isEntry,
  type Located,
  locate,
  newChainId,
  newResponseId,
  notFound,
  type ResponseEntry,
} from "./chain.ts";
import { normaliseResponse } from "./normalise.ts";

export interface ResponsesStepOptions {
  /** Without a store (a gateway without keys) nothing is kept and no previous id is known. */
  repo?: SessionRepository;
  tiers?: Record<string, TierConfig>;
  lockLeaseMs?: number;
  log: Logger;
}

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

export function responsesStep(opts: ResponsesStepOptions): Middleware<GatewayState> {
  const { repo, log } = opts;
  return async function responsesState(ctx, next) {
    const body = ctx.state.route!.body;
    const key = repo ? ctx.state.key : undefined;
    const store = body["store"] !== false;
    const previousId = typeof body["previous_response_id"] === "string" ? body["previous_response_id"] : null;
    let located: Located | undefined;
    if (previousId) {
      located = key && repo ? await locate(repo, key.id, previousId) : undefined;
      if (!located) throw notFound(previousId, "previous_response_id");
    }
    const context = located ? contextThrough(located.entries, located.index) : [];
    const input = inputItems(body["input"]);
    body["input"] = [...context, ...structuredClone(input)];
    delete body["previous_response_id"];
    body["store"] = false;
    delete ctx.state.rawBody;
    // What the client sees echoed is what it sent, not what the engine was sent.
    const echo = (response: Record<string, unknown>, id?: string) => {
      normaliseResponse(response);
      if (id) response["id"] = id;
      response["previous_response_id"] = previousId;
      response["store"] = store && key !== undefined;
    };
    if (!store || !key || !repo || !opts.tiers) {
      if (located) ctx.state.sessionId = located.sessionId;
      ctx.state.replyObserver = {
        event: (e) => e["response"] && echo(e["response"] as Record<string, unknown>),
        async finish(json) {
          if (json) echo(json);
          return json;
        },
      };
      return next();
    }

    const ttlMs = opts.tiers[key.tier]!.sessionTtlSeconds * 1000;
    const maxEntries = opts.tiers[key.tier]!.sessionMaxMessages;
    const lease = { token: ctx.state.requestId, ms: opts.lockLeaseMs ?? 30_000 };
    // Continue the chain's session when the previous response is its last entry; otherwise
    // (a fork, a busy or full session) start a new session that carries the context as prefix.
    let sessionId =
      located && located.index === located.entries.length - 1 ? located.sessionId : newChainId();
    let begun = await begin(sessionId).catch((err: unknown) => {
      if (err instanceof Conflict && located) return null;
      throw err;
    });
    if (begun && located && sessionId === located.sessionId) {
      const entries = begun.filter(isEntry);
      if (entries.at(-1)?.id !== previousId || entries.length + 1 > maxEntries) {
        await repo.release(key.id, sessionId, lease.token);
        begun = null;
      }
    }
    if (!begun) {
      sessionId = newChainId();
      begun = await begin(sessionId);
    }
    const keep = begun.length;
    const prefix = keep === 0 && context.length > 0 ? context : undefined;
    const id = newResponseId(sessionId);
    ctx.state.sessionId = sessionId;
    ctx.set("x-session-id", sessionId);
    ctx.state.responseHeaders["x-session-id"] = sessionId;
    let final: Record<string, unknown> | undefined;
    let committed = false;
    ctx.state.replyObserver = {
      responseId: id,
      event(e) {
        const response = e["response"] as Record<string, unknown> | undefined;
        if (!response) return;
        echo(response, id);
        if (TERMINAL.has(e["type"] as string)) final = response;
      },
      async finish(json) {
        const response = json ?? final;
        if (!response) return undefined;
        echo(response, id);
        const entry: ResponseEntry = {
          object: ENTRY_OBJECT,
          id,
          input,
          ...(prefix ? { prefix } : {}),
          response,
        };
        await repo.commit({
          keyId: key.id,
          id: sessionId,
          token: lease.token,
          keep,
          append: [entry as unknown as Record<string, unknown>],
          usage: usageOf(response["usage"]),
          ttlMs,
        });
        committed = true;
        return response;
      },
    };
    try {
      await next();
    } finally {
      if (!committed) {
        await repo
          .release(key.id, sessionId, lease.token)
          .catch((err: unknown) => log.warn({ err, sessionId }, "response chain lock release failed"));
      }
    }

    async function begin(sid: string) {
      const { messages } = await repo!.begin({ keyId: key!.id, id: sid, ttlMs, lease });
      return messages;
    }
  };
}

function usageOf(usage: unknown) {
  if (!usage || typeof usage !== "object") return null;
  const u = usage as Record<string, Record<string, unknown> | number | undefined>;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return {
    promptTokens: n(u["input_tokens"]),
    completionTokens: n(u["output_tokens"]),
    reasoningTokens: n(
      (u["output_tokens_details"] as Record<string, unknown> | undefined)?.["reasoning_tokens"],
    ),
    cachedTokens: n((u["input_tokens_details"] as Record<string, unknown> | undefined)?.["cached_tokens"]),
  };
}
