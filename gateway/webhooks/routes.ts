/**
 * `/v1/webhooks` on the API listener: a key's own endpoints and their deliveries (another
 * key's are 404, so ids do not leak). Registration checks the URL with the SSRF guard, which
 * resolves the host but never connects to it.
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import { z } from "zod";
import { parseOr400 } from "../admin/validate.ts";
import { errors } from "../errors.ts";
import type { GatewayState } from "../state.ts";
import type { WebhookRepository } from "../store/index.ts";
import { deliveryNotFound, endpointNotFound, newWebhookSecret } from "../store/webhooks.ts";
import type { WebhooksConfig } from "./config.ts";
import type { SecretBox } from "./secretBox.ts";
import { DELIVERY_ID, deliveryObject, ENDPOINT_ID, endpointObject, JOB_EVENT_TYPES } from "./serialize.ts";
import { checkWebhookUrl, type Resolver, type UrlPolicy, WebhookUrlRefused } from "./ssrf/guard.ts";

type Step = Middleware<GatewayState>;

const createBody = z.strictObject({
  url: z.string().min(1),
  events: z
    .array(z.enum(JOB_EVENT_TYPES))
    .min(1)
    .refine((a) => new Set(a).size === a.length)
    .nullable()
    .optional(),
  description: z.string().max(512).nullable().optional(),
});

const HELP = {
  url: "`url` must be a string: the https URL events are POSTed to.",
  events: `\`events\` must be a non-empty list of distinct event types among ${JOB_EVENT_TYPES.join(", ")}, or null for all.`,
  description: "`description` must be a string of at most 512 characters, or null.",
};

export interface WebhookRoutesDeps {
  repo: WebhookRepository;
  config: WebhooksConfig;
  policy: UrlPolicy;
  resolve: Resolver;
  /** Seals signing secrets before they are stored. */
  box: SecretBox;
  /** Wakes the delivery worker (after a redeliver). */
  wake(): void;
}

export function mountWebhookRoutes(
  router: Router<GatewayState>,
  auth: readonly Step[],
  body: Step,
  deps: WebhookRoutesDeps,
): void {
  const { repo, config } = deps;
  const find = async (keyId: string, id: string) => {
    const endpoint = ENDPOINT_ID.test(id) ? await repo.getEndpoint(keyId, id) : undefined;
    if (!endpoint) throw endpointNotFound(id);
    return endpoint;
  };

  router.post("/v1/webhooks", ...auth, body, async (ctx) => {
    const keyId = ctx.state.key!.id;
    const input = parseOr400(createBody, ctx.state.body, "invalid_webhook_field", HELP, "field");
    let url: URL;
    try {
      url = await checkWebhookUrl(input.url, deps.policy, deps.resolve);
    } catch (err) {
      if (!(err instanceof WebhookUrlRefused)) throw err;
      throw errors.invalidRequest(`Webhook URL refused: ${err.message}.`, "url", "webhook_url_refused");
    }
    if ((await repo.listEndpoints(keyId)).length >= config.maxEndpointsPerKey) {
      throw errors.invalidRequest(
        `This API key already has ${config.maxEndpointsPerKey} webhook endpoints, the most allowed; delete one first.`,
        null,
        "webhook_limit_reached",
      );
    }
    const secret = newWebhookSecret();
    const endpoint = await repo.createEndpoint({
      keyId,
      url: url.href,
      events: input.events ?? null,
      description: input.description ?? null,
      secret: deps.box.seal(secret),
    });
    ctx.status = 201;
    ctx.body = endpointObject({ ...endpoint, secret }, true);
  });

  router.get("/v1/webhooks", ...auth, async (ctx) => {
    const data = (await repo.listEndpoints(ctx.state.key!.id)).map((e) => endpointObject(e));
    ctx.body = { object: "list", data, has_more: false };
  });

  router.get("/v1/webhooks/:id", ...auth, async (ctx) => {
    ctx.body = endpointObject(await find(ctx.state.key!.id, ctx.params["id"]!));
  });

  router.delete("/v1/webhooks/:id", ...auth, async (ctx) => {
    const id = ctx.params["id"]!;
    if (!ENDPOINT_ID.test(id) || !(await repo.deleteEndpoint(ctx.state.key!.id, id)))
      throw endpointNotFound(id);
    ctx.body = { id, object: "webhook_endpoint.deleted", deleted: true };
  });

  router.post("/v1/webhooks/:id/rotate_secret", ...auth, async (ctx) => {
    const keyId = ctx.state.key!.id;
    const { id } = await find(keyId, ctx.params["id"]!);
    const secret = newWebhookSecret();
    const rotated = await repo.rotateSecret(
      keyId,
      id,
      deps.box.seal(secret),
      Date.now() + config.secretGraceSeconds * 1000,
    );
    if (!rotated) throw endpointNotFound(id);
    ctx.body = endpointObject({ ...rotated, secret }, true);
  });

  router.get("/v1/webhooks/:id/deliveries", ...auth, async (ctx) => {
    const keyId = ctx.state.key!.id;
    const { id } = await find(keyId, ctx.params["id"]!);
    const raw = ctx.query["limit"];
    const limit = raw === undefined ? 20 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw errors.invalidRequest("`limit` must be an integer from 1 to 100.", "limit", "invalid_limit");
    }
    const page = await repo.listDeliveries(keyId, id, limit);
    ctx.body = { object: "list", data: page.deliveries.map(deliveryObject), has_more: page.hasMore };
  });

  router.post("/v1/webhooks/:id/deliveries/:deliveryId/redeliver", ...auth, async (ctx) => {
    const keyId = ctx.state.key!.id;
    const { id } = await find(keyId, ctx.params["id"]!);
    const deliveryId = ctx.params["deliveryId"]!;
    const delivery = DELIVERY_ID.test(deliveryId) ? await repo.redeliver(keyId, id, deliveryId) : undefined;
    if (!delivery) throw deliveryNotFound(deliveryId);
    deps.wake();
    ctx.status = 202;
    ctx.body = deliveryObject(delivery);
  });
}
