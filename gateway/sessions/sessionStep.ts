/**
 * The session step of a chat request carrying `X-Session-Id` (after routing and admission,
 * before the proxy): takes the session's lock, reads its history, works out what the client
 * sent (planHistory), checks the tier's caps, hands the backend the whole conversation, and
 * stores the turn when the answer is complete — before its last bytes reach the client, so
 * the client's next turn always finds it. Failed or aborted answers store nothing.
 */
import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { TierConfig } from "../config/schema.ts";
import { errors } from "../errors.ts";
import type { GatewayState } from "../state.ts";
import type { SessionRepository } from "../store/index.ts";
import { encodeMessage } from "../store/sessions.ts";
import { type HistoryPlan, type Message, planHistory } from "./history.ts";
import { replyFromJson, StreamedReply } from "./reply.ts";

/** 1–128 characters of `[A-Za-z0-9._:-]`: safe in headers, logs, URLs and SQL keys. */
export const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface SessionStepOptions {
  repo: SessionRepository;
  tiers: Record<string, TierConfig>;
  lockLeaseMs: number;
  log: Logger;
}

export function sessionStep(opts: SessionStepOptions): Middleware<GatewayState> {
  const { repo, log } = opts;
  return async function session(ctx, next) {
    const id = ctx.get("x-session-id");
    const key = ctx.state.key;
    // Sessions belong to API keys; a gateway without keys (some tests) does not keep them.
    if (!id || !key) return next();
    if (!SESSION_ID.test(id)) {
      throw errors.invalidRequest(
        "The X-Session-Id header must be 1 to 128 characters of letters, digits, `.`, `_`, `:` and `-`.",
        "X-Session-Id",
        "invalid_session_id",
      );
    }
    ctx.state.sessionId = id;
    const body = ctx.state.route!.body;
    if (typeof body["n"] === "number" && body["n"] > 1) {
      throw errors.invalidRequest(
        "A session stores one answer per turn: `n` must be 1 on a request with X-Session-Id.",
        "n",
        "session_n_unsupported",
      );
    }
    const tier = opts.tiers[key.tier]!;
    const ttlMs = tier.sessionTtlSeconds * 1000;
    const lease = { token: ctx.state.requestId, ms: opts.lockLeaseMs };
    const { messages: stored } = await repo.begin({ keyId: key.id, id, ttlMs, lease });
    let committed = false;
    const renew = setInterval(
      () => {
        repo
          .renew(key.id, id, lease)
          .then((held) => held || log.warn({ sessionId: id }, "session lock lost while the turn ran"))
          .catch((err: unknown) => log.warn({ err, sessionId: id }, "session lock renewal failed"));
      },
      Math.max(100, Math.floor(lease.ms / 3)),
    );
    renew.unref();
    try {
      const plan = planHistory(stored, body["messages"] as Message[]);
      checkCaps(id, plan, stored, tier, key.tier);
      // A copy: the proxy rewrites messages in place for the engine (reasoning fields).
      const added = structuredClone(plan.added);
      if (plan.mode === "new") {
        body["messages"] = plan.prompt;
        ctx.state.rawBody = Buffer.from(JSON.stringify(body));
      }
      const streamed = new StreamedReply();
      ctx.state.replyObserver = {
        event: (e) => streamed.event(e),
        async finish(json) {
          const reply = json ? replyFromJson(json) : streamed.finish();
          if (!reply) return;
          await repo.commit({
            keyId: key.id,
            id,
            token: lease.token,
            keep: plan.keep,
            append: [...added, reply.message],
            usage: reply.usage,
            ttlMs,
          });
          committed = true;
        },
      };
      await next();
    } finally {
      clearInterval(renew);
      if (!committed) {
        await repo
          .release(key.id, id, lease.token)
          .catch((err: unknown) => log.warn({ err, sessionId: id }, "session lock release failed"));
      }
    }
  };
}

/** The tier's per-session caps, checked before anything reaches a backend (the reply counts as one message). */
function checkCaps(
  id: string,
  plan: HistoryPlan,
  stored: readonly Message[],
  tier: TierConfig,
  tierName: string,
): void {
  const count = plan.keep + plan.added.length + 1;
  if (count > tier.sessionMaxMessages) {
    throw errors.invalidRequest(
      `This turn would make session \`${id}\` hold ${count} messages (with the reply), over the cap of ${tier.sessionMaxMessages} messages per session of tier \`${tierName}\` (tiers.${tierName}.sessionMaxMessages). Start a new session, or delete this one.`,
      "messages",
      "session_message_limit",
    );
  }
  let bytes = 0;
  for (let i = 0; i < plan.keep; i++) bytes += encodeMessage(stored[i]!).bytes;
  for (const m of plan.added) bytes += encodeMessage(m).bytes;
  if (bytes > tier.sessionMaxBytes) {
    throw errors.invalidRequest(
      `This turn would make session \`${id}\` hold ${bytes} bytes of messages, over the cap of ${tier.sessionMaxBytes} bytes per session of tier \`${tierName}\` (tiers.${tierName}.sessionMaxBytes). Start a new session, or delete this one.`,
      "messages",
      "session_size_limit",
    );
  }
}
