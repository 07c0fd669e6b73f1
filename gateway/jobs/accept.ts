/**
 * `Prefer: respond-async` (RFC 7240) on a chat completion: after authentication, validation,
 * routing and admission (the rate limits are charged here, as for a synchronous request), the
 * request is stored as a job and answered `202` with the job object. Anything the
 * synchronous request would refuse is refused the same way, and nothing is queued.
 */
import type { Middleware } from "koa";
import { errors } from "../errors.ts";
import type { GatewayState } from "../state.ts";
import type { JobRepository } from "../store/index.ts";
import type { JobEventSink } from "./eventSink.ts";
import { jobObject } from "./serialize.ts";

type Step = Middleware<GatewayState>;

/** The header a request names its webhook endpoint in. */
export const WEBHOOK_HEADER = "gonka-webhook-id";

/** Whether a `Prefer` header asks for `respond-async` (preferences are comma-separated, parameters after `;`). */
export function prefersAsync(prefer: string): boolean {
  return prefer.split(",").some((p) => p.split(/[;=]/)[0]!.trim().toLowerCase() === "respond-async");
}

export function acceptStep(deps: {
  repo: JobRepository;
  sink: JobEventSink | undefined;
  /** Called after a job is stored: the local worker starts it without waiting for its next poll. */
  accepted(): void;
}): Step {
  return async function acceptAsync(ctx, next) {
    if (!prefersAsync(ctx.get("prefer"))) return next();
    const key = ctx.state.key;
    const route = ctx.state.route!;
    if (!key)
      throw errors.invalidRequest(
        "Async requests need an API key: jobs belong to the key that created them.",
      );
    if (route.body["stream"] === true) {
      throw errors.invalidRequest(
        "`stream: true` cannot be combined with `Prefer: respond-async`: a job's completion is read whole from `GET /v1/jobs/{id}`. Send the request without `stream`.",
        "stream",
        "stream_not_supported",
      );
    }
    if (ctx.state.sessionId) {
      throw errors.invalidRequest(
        "`X-Session-Id` cannot be combined with `Prefer: respond-async`: a session's turns run in order, while the client waits.",
        null,
        "session_not_supported",
      );
    }
    const webhookId = ctx.get(WEBHOOK_HEADER) || null;
    if (webhookId !== null) {
      if (!deps.sink) {
        throw errors.invalidRequest(
          "webhooks are not enabled on this gateway: remove the `Gonka-Webhook-Id` header.",
          null,
          "webhooks_not_enabled",
        );
      }
      await deps.sink.checkEndpoint(key.id, webhookId);
    }
    const job = await deps.repo.create({
      keyId: key.id,
      tier: key.tier,
      endpoint: "chat.completions",
      model: route.requested,
      request: ctx.state.body as Record<string, unknown>,
      requestId: ctx.state.requestId,
      clientRequestId: ctx.state.clientRequestId ?? null,
      webhookId,
    });
    // Admission keeps the token estimate charged: the job's tokens are spent later, unchecked.
    ctx.state.reservationKept = true;
    ctx.status = 202;
    ctx.set("location", `/v1/jobs/${job.id}`);
    ctx.set("preference-applied", "respond-async");
    ctx.body = jobObject(job);
    deps.accepted();
  };
}
