/**
 * The body every endpoint receives for a job event, per Standard Webhooks (`type`,
 * `timestamp`, `data`), with OpenAI's event fields beside them (`id`, `object`,
 * `created_at`) so the `openai` SDK's `webhooks.unwrap()` reads it like one of its own.
 */
import type { JobEvent } from "../jobs/eventSink.ts";

/** Job fields kept in a link-only payload: enough to decide whether to fetch the rest. */
const SUMMARY_FIELDS = [
  "id",
  "object",
  "status",
  "endpoint",
  "model",
  "created_at",
  "finished_at",
  "webhook_id",
];

export function eventPayload(event: JobEvent, maxPayloadBytes: number): string {
  // Read as plain JSON: the payload does not depend on the job type's exact fields.
  const job = event.job as unknown as Record<string, unknown>;
  const full = JSON.stringify(job);
  const id = String(job["id"] ?? "");
  const data =
    Buffer.byteLength(full) <= maxPayloadBytes
      ? job
      : {
          ...Object.fromEntries(SUMMARY_FIELDS.filter((f) => f in job).map((f) => [f, job[f]])),
          // Relative to the API's base URL: the gateway does not know the name clients use for it.
          url: `/v1/jobs/${encodeURIComponent(id)}`,
          truncated: true,
        };
  return JSON.stringify({
    id: event.id,
    object: "event",
    type: event.type,
    created_at: Math.floor(event.createdAt / 1000),
    timestamp: new Date(event.createdAt).toISOString(),
    data,
  });
}
