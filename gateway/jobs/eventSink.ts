/**
 * The seam between jobs and whatever tells clients a job finished (webhooks). Jobs emit one
 * event per terminal transition, after it is committed; the sink stores it durably for
 * delivery. The event id is derived from the job id and type, so an event re-emitted after
 * a crash (the sweeper re-emits those not marked as emitted) is the same event.
 */
import type { JobObject } from "./serialize.ts";

export type JobEventType = "job.succeeded" | "job.failed" | "job.cancelled";

export interface JobEvent {
  /** Stable: `evt_<jobId>_<status>`. */
  id: string;
  type: JobEventType;
  keyId: string;
  /** The endpoint the request named (`Gonka-Webhook-Id`), or null: every subscribed endpoint. */
  endpointId: string | null;
  /** Milliseconds since the epoch: when the job finished. */
  createdAt: number;
  job: JobObject;
}

export interface JobEventSink {
  /** Rejects (throw a GatewayError-style OpenAI 400/404, read gateway/errors.ts) when the key has no such endpoint. */
  checkEndpoint(keyId: string, endpointId: string): Promise<void>;
  /** Durably records the event for delivery. Idempotent on event.id (a second call with the same id is a no-op). */
  emit(event: JobEvent): Promise<void>;
}

export function jobEventId(jobId: string, status: "succeeded" | "failed" | "cancelled"): string {
  return `evt_${jobId}_${status}`;
}
