/** The API's JSON shapes of endpoints and deliveries (times in Unix seconds, like OpenAI's). */
import type { DeliveryAttempt, WebhookDelivery, WebhookEndpoint } from "../store/index.ts";

export const JOB_EVENT_TYPES = ["job.succeeded", "job.failed", "job.cancelled"] as const;
export const ENDPOINT_ID = /^we_[0-9a-f]{24}$/;
export const DELIVERY_ID = /^whd_[0-9a-f]{24}$/;

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/** An endpoint; the secret only right after creation or rotation (`withSecret`). */
export function endpointObject(e: WebhookEndpoint, withSecret = false) {
  return {
    id: e.id,
    object: "webhook_endpoint",
    url: e.url,
    events: e.events ?? [...JOB_EVENT_TYPES],
    description: e.description,
    created_at: seconds(e.createdAt),
    ...(withSecret ? { secret: e.secret } : {}),
    previous_secret_expires_at:
      e.previousSecretUntil !== null && e.previousSecretUntil > Date.now()
        ? seconds(e.previousSecretUntil)
        : null,
  };
}

function attemptObject(a: DeliveryAttempt) {
  return {
    attempt: a.attempt,
    started_at: seconds(a.startedAt),
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    error: a.error,
  };
}

export function deliveryObject(d: WebhookDelivery & { log?: DeliveryAttempt[] }) {
  return {
    id: d.id,
    object: "webhook_delivery",
    endpoint_id: d.endpointId,
    webhook_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.status === "pending" ? seconds(d.nextAttemptAt) : null,
    created_at: seconds(d.createdAt),
    updated_at: seconds(d.updatedAt),
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    ...(d.log ? { attempt_log: d.log.map(attemptObject) } : {}),
  };
}
