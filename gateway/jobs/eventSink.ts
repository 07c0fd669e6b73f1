// gateway/jobs/eventSink.ts
import type { JobObject } from "./jobObject.ts"; // jobs helper's type; on your branch declare `export type JobObject = Record<string, unknown>` in gateway/jobs/jobObject.ts — the lead reconciles at merge
export type JobEventType = "job.succeeded" | "job.failed" | "job.cancelled";
export interface JobEvent {
  id: string;
  type: JobEventType;
  keyId: string;
  endpointId: string | null;
  createdAt: number;
  job: JobObject;
}
export interface JobEventSink {
  /** Rejects (OpenAI-shaped 400/404, see gateway/errors.ts) when the key has no such endpoint. */
  checkEndpoint(keyId: string, endpointId: string): Promise<void>;
  /** Durably records the event for delivery. Idempotent on event.id (a second call with the same id is a no-op). */
  emit(event: JobEvent): Promise<void>;
}
