/**
 * The JobEventSink the async-jobs worker calls: it checks a job's named endpoint when the job
 * is accepted, and records each finished job's event in the outbox (one delivery per target
 * endpoint), then wakes the delivery worker.
 */
import { errors } from "../errors.ts";
import type { JobEvent, JobEventSink } from "../jobs/eventSink.ts";
import type { WebhookRepository } from "../store/index.ts";
import { ENDPOINT_ID } from "./serialize.ts";

export function createJobEventSink(deps: {
  repo: WebhookRepository;
  maxPayloadBytes: number;
  payload: (event: JobEvent, maxPayloadBytes: number) => string;
  /** Called with how many deliveries one emit created. */
  onEnqueued: (n: number) => void;
}): JobEventSink {
  return {
    async checkEndpoint(keyId, endpointId) {
      const found = ENDPOINT_ID.test(endpointId) ? await deps.repo.getEndpoint(keyId, endpointId) : undefined;
      if (!found) {
        throw errors.invalidRequest(
          `No webhook endpoint with id \`${endpointId}\` (the \`Gonka-Webhook-Id\` header) for this API key; register one with POST /v1/webhooks.`,
          null,
          "webhook_not_found",
        );
      }
    },
    async emit(event) {
      // Idempotent: a delivery is unique per (event id, endpoint), so a second emit adds nothing
      // (the jobs worker may emit again after a crash between finishing a job and recording it).
      const created = await deps.repo.enqueue({
        eventId: event.id,
        eventType: event.type,
        keyId: event.keyId,
        endpointId: event.endpointId,
        payload: deps.payload(event, deps.maxPayloadBytes),
      });
      deps.onEnqueued(created);
    },
  };
}
