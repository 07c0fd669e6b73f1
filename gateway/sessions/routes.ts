/**
 * `/v1/sessions` on the API listener (the caller's own sessions; another key's are 404, so
 * ids do not leak) and `/admin/sessions` on the operational listener (every key's).
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import { z } from "zod";
import { parseOr400 } from "../admin/validate.ts";
import type { TierConfig } from "../config/schema.ts";
import type { GatewayState } from "../state.ts";
import type { SessionRepository } from "../store/index.ts";
import { sessionNotFound } from "../store/sessions.ts";
import { listObject, parseListQuery, sessionObject } from "./serialize.ts";
import { SESSION_ID } from "./sessionStep.ts";

type Step = Middleware<GatewayState>;

/** Metadata is the client's own small JSON object (labels, an agent name): at most 16 KiB. */
const MAX_METADATA_BYTES = 16 * 1024;

const createBody = z.strictObject({
  metadata: z
    .record(z.string(), z.unknown())
    .nullable()
    .optional()
    .refine((m) => !m || Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES),
});

export interface SessionRoutesDeps {
  repo: SessionRepository;
  tiers: Record<string, TierConfig>;
}

/**
 * A body is optional on `POST /v1/sessions` (`curl -X POST` sends none); when there is one it
 * goes through the gateway's JSON body step (content type, size limit, errors).
 */
function optionalBody(body: Step): Step {
  return async function optionalBody(ctx, next) {
    if (!ctx.request.length && !ctx.get("transfer-encoding")) return next();
    return body(ctx, next);
  };
}

export function mountSessionRoutes(
  router: Router<GatewayState>,
  auth: readonly Step[],
  body: Step,
  deps: SessionRoutesDeps,
): void {
  const { repo } = deps;
  const find = async (keyId: string, id: string) => {
    const session = SESSION_ID.test(id) ? await repo.get(keyId, id) : undefined;
    if (!session) throw sessionNotFound(id);
    return session;
  };

  router.post("/v1/sessions", ...auth, optionalBody(body), async (ctx) => {
    const key = ctx.state.key!;
    const input = parseOr400(
      createBody,
      ctx.state.body ?? {},
      "invalid_session_field",
      { metadata: `\`metadata\` must be a JSON object of at most ${MAX_METADATA_BYTES} bytes, or null.` },
      "field",
    );
    const ttlMs = deps.tiers[key.tier]!.sessionTtlSeconds * 1000;
    const session = await repo.create({ keyId: key.id, metadata: input.metadata ?? null, ttlMs });
    ctx.body = sessionObject(session, { messages: [] });
  });

  router.get("/v1/sessions", ...auth, async (ctx) => {
    const query = parseListQuery(ctx.query, ctx.state.key!.id);
    ctx.body = listObject(await repo.list(query), false);
  });

  router.get("/v1/sessions/:id", ...auth, async (ctx) => {
    const keyId = ctx.state.key!.id;
    const session = await find(keyId, ctx.params["id"]!);
    ctx.body = sessionObject(session, { messages: await repo.messages(keyId, session.id) });
  });

  router.delete("/v1/sessions/:id", ...auth, async (ctx) => {
    const id = ctx.params["id"]!;
    if (!SESSION_ID.test(id) || !(await repo.delete(ctx.state.key!.id, id))) throw sessionNotFound(id);
    ctx.body = { id, object: "session.deleted", deleted: true };
  });
}

export function mountAdminSessionRoutes(
  router: Router<GatewayState>,
  guard: Step,
  repo: SessionRepository,
): void {
  const find = async (keyId: string, id: string) => {
    const session = await repo.get(keyId, id);
    if (!session) throw sessionNotFound(id);
    return session;
  };

  router.get("/admin/sessions", guard, async (ctx) => {
    ctx.body = listObject(await repo.list(parseListQuery(ctx.query, undefined)), true);
  });

  router.get("/admin/sessions/:key_id/:id", guard, async (ctx) => {
    const { key_id: keyId, id } = ctx.params as { key_id: string; id: string };
    const session = await find(keyId, id);
    ctx.body = sessionObject(session, { withKey: true, messages: await repo.messages(keyId, id) });
  });

  router.delete("/admin/sessions/:key_id/:id", guard, async (ctx) => {
    const { key_id: keyId, id } = ctx.params as { key_id: string; id: string };
    if (!(await repo.delete(keyId, id))) throw sessionNotFound(id);
    ctx.body = { id, object: "session.deleted", deleted: true };
  });
}
