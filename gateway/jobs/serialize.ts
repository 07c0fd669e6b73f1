/** Wire shape of a job (snake_case, unix seconds, like the rest of the API) and of a page of them. */
import { endpointSpec } from "../endpoints.ts";
import type { Endpoint } from "../outcome.ts";
import type { JobRecord, JobStatus } from "../store/index.ts";

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/** What `GET /v1/jobs/{id}` returns, and what job events carry. */
export interface JobObject {
  id: string;
  object: "job";
  status: JobStatus;
  /** The path the request was sent to (`/v1/chat/completions`). */
  endpoint: string;
  model: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  expires_at: number | null;
  attempts: number;
  cancel_requested: boolean;
  webhook_id: string | null;
  /** The chat completion, once `succeeded`. */
  completion: Record<string, unknown> | null;
  /** The OpenAI error object, once `failed` or `cancelled`. */
  error: Record<string, unknown> | null;
}

export function jobObject(job: JobRecord): JobObject {
  return {
    id: job.id,
    object: "job",
    status: job.status,
    endpoint: endpointSpec(job.endpoint as Endpoint).path,
    model: job.model,
    created_at: seconds(job.createdAt)!,
    started_at: seconds(job.startedAt),
    finished_at: seconds(job.finishedAt),
    expires_at: seconds(job.expiresAt),
    attempts: job.attempts,
    cancel_requested: job.cancelRequested,
    webhook_id: job.webhookId,
    completion: job.result,
    error: job.error,
  };
}

/** OpenAI's list shape (`first_id`/`last_id`/`has_more`); the next page is `?after=<last_id>`. */
export function jobList(page: { data: JobRecord[]; hasMore: boolean }) {
  return {
    object: "list",
    data: page.data.map(jobObject),
    first_id: page.data[0]?.id ?? null,
    last_id: page.data.at(-1)?.id ?? null,
    has_more: page.hasMore,
  };
}
