/** Key management: create, list, get, update, rotate, revoke. Secrets leave only in create/rotate. */
import type { Router, RouterMiddleware } from "@koa/router";
import type { Middleware } from "koa";
import { z } from "zod";
import type { TierConfig } from "../config/schema.ts";
import type { GatewayState } from "../state.ts";
import type { Store } from "../store/index.ts";
import { keyNotFound } from "../store/keys.ts";
import { keyObject } from "./serialize.ts";
import { type FieldHelp, invalidField, parseOr400 } from "./validate.ts";

export interface KeyRoutesDeps {
  store: Store;
  keyCache: { invalidate(keyId: string): void };
  tiers: Record<string, TierConfig>;
  modelNames: ReadonlySet<string>;
  /** Records one admin action (never a secret). */
  audit: (event: string, fields: Record<string, unknown>) => void;
}

/** Later than this is surely milliseconds sent by mistake (year 5138 in seconds). */
const MAX_UNIX_SECONDS = 99_999_999_999;

const HELP: FieldHelp = {
  name: "`name` must be a non-empty string of at most 200 characters.",
  tier: "`tier` must be the name of a configured tier.",
  models:
    "`models` must be a non-empty array of model ids (or aliases), or null to allow whatever the tier allows.",
  expires_at:
    "`expires_at` must be a future unix time in seconds (an integer, not milliseconds), or null for no expiry.",
};

const name = z.string().trim().min(1).max(200);
const tier = z.string().min(1).max(64);
const models = z.array(z.string().min(1).max(200)).min(1).max(1_000).nullable();
const expiresAt = z
  .number()
  .int()
  .positive()
  .max(MAX_UNIX_SECONDS)
  .refine((s) => s * 1000 > Date.now(), "must be in the future")
  .nullable();

const createBody = z.strictObject({
  name,
  tier,
  models: models.optional(),
  expires_at: expiresAt.optional(),
});

const updateBody = z.strictObject({
  name: name.optional(),
  tier: tier.optional(),
  models: models.optional(),
  expires_at: expiresAt.optional(),
});

const LIST_HELP: FieldHelp = { status: "`status` must be active, revoked or expired." };

const listQuery = z.strictObject({
  status: z.enum(["active", "revoked", "expired"]).optional(),
});

function checkTier(tiers: Record<string, TierConfig>, value: string): void {
  if (Object.hasOwn(tiers, value)) return;
  const known = Object.keys(tiers).sort().join(", ");
  throw invalidField("unknown_tier", "tier", `Unknown tier \`${value}\`; configured tiers: ${known}.`);
}

/** A typo in an allow-list would lock the key out of the model it was meant for, silently. */
function checkModels(known: ReadonlySet<string>, value: readonly string[] | null | undefined): void {
  const unknown = (value ?? []).filter((m) => !known.has(m));
  if (unknown.length === 0) return;
  throw invalidField(
    "unknown_model",
    "models",
    `Unknown model(s) ${unknown.map((m) => `\`${m}\``).join(", ")}; this gateway serves: ${[...known].sort().join(", ")}.`,
  );
}

const toMs = (seconds: number | null | undefined) =>
  seconds === undefined ? undefined : seconds === null ? null : seconds * 1000;

export function mountKeyRoutes(
  router: Router<GatewayState>,
  guard: Middleware<GatewayState>,
  body: Middleware<GatewayState>,
  deps: KeyRoutesDeps,
): void {
  const { store, keyCache, tiers, modelNames, audit } = deps;

  async function mustGet(id: string) {
    const key = await store.keys.get(id);
    if (!key) throw keyNotFound(id);
    return key;
  }

  router.post("/admin/keys", guard, body, async (ctx) => {
    const input = parseOr400(createBody, ctx.state.body, "invalid_key_field", HELP, "field");
    checkTier(tiers, input.tier);
    checkModels(modelNames, input.models);
    const issued = await store.keys.create({
      name: input.name,
      tier: input.tier,
      models: input.models ?? null,
      expiresAt: toMs(input.expires_at) ?? null,
    });
    audit("key created", { keyId: issued.key.id, tier: issued.key.tier, prefix: issued.key.prefix });
    ctx.body = { key: keyObject(issued.key), secret: issued.secret };
    ctx.status = 201;
  });

  router.get("/admin/keys", guard, async (ctx) => {
    const { status } = parseOr400(listQuery, { ...ctx.query }, "invalid_key_query", LIST_HELP, "parameter");
    const now = Date.now();
    // The store knows active/revoked; "expired" is derived from expires_at, so filter after mapping.
    const stored = await store.keys.list(
      status === "revoked" ? { status: "revoked" } : status ? { status: "active" } : {},
    );
    const data = stored.map((k) => keyObject(k, now)).filter((k) => !status || k.status === status);
    ctx.body = { object: "list", data };
  });

  router.get("/admin/keys/:id", guard, async (ctx) => {
    ctx.body = keyObject(await mustGet(ctx.params["id"]!));
  });

  router.patch("/admin/keys/:id", guard, body, async (ctx) => {
    const id = ctx.params["id"]!;
    const input = parseOr400(updateBody, ctx.state.body, "invalid_key_field", HELP, "field");
    if (Object.keys(input).length === 0) {
      throw invalidField(
        "invalid_key_field",
        null,
        "Nothing to change: set at least one of name, tier, models, expires_at.",
      );
    }
    if (input.tier !== undefined) checkTier(tiers, input.tier);
    checkModels(modelNames, input.models);
    const updated = await store.keys.update(id, {
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.tier === undefined ? {} : { tier: input.tier }),
      ...(input.models === undefined ? {} : { models: input.models }),
      ...(input.expires_at === undefined ? {} : { expiresAt: toMs(input.expires_at) ?? null }),
    });
    keyCache.invalidate(id);
    audit("key updated", { keyId: id, fields: Object.keys(input) });
    ctx.body = keyObject(updated);
  });

  router.post("/admin/keys/:id/rotate", guard, async (ctx) => {
    const id = ctx.params["id"]!;
    const issued = await store.keys.rotate(id);
    keyCache.invalidate(id);
    audit("key rotated", { keyId: id, prefix: issued.key.prefix });
    ctx.body = { key: keyObject(issued.key), secret: issued.secret };
  });

  // Idempotent; the store throws the 404 for an unknown id.
  const revoke: RouterMiddleware<GatewayState> = async (ctx) => {
    const id = ctx.params["id"]!;
    const revoked = await store.keys.revoke(id);
    keyCache.invalidate(id);
    audit("key revoked", { keyId: id });
    ctx.body = keyObject(revoked);
  };
  router.post("/admin/keys/:id/revoke", guard, revoke);
  // DELETE is a revoke: usage rows keep pointing at the key id, so the record stays.
  router.delete("/admin/keys/:id", guard, revoke);
}
