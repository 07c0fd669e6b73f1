/**
 * Async jobs (`Prefer: respond-async`, AGNT-04): the records, the repository each dialect
 * implements (`sqlite/sqliteJobs.ts`, `postgres/postgresJobs.ts`) and the shared row mapping.
 * The contract suite (jobs.contract.test.ts) runs against both.
 *
 * A job belongs to the API key that created it. A worker runs it under a claim: a random
 * token and a lease (`lease_until`) it renews while the request runs. Every terminal write
 * is guarded by that token, so a job whose lease lapsed and was claimed again by another
 * worker can never be completed by the first: no job completes twice.
 */
import { randomBytes } from "node:crypto";

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type TerminalStatus = "succeeded" | "failed" | "cancelled";

export interface JobRecord {
  id: string;
  keyId: string;
  tier: string;
  status: JobStatus;
  /** The endpoint the request was sent to (`chat.completions`). */
  endpoint: string;
  /** The model the client asked for (id, alias or router alias). */
  model: string;
  /** The request body as the client sent it (JSON). */
  request: Record<string, unknown>;
  /** The gateway request id of the accepting request; each run's usage row derives from it. */
  requestId: string;
  clientRequestId: string | null;
  /** The webhook endpoint the client named (`Gonka-Webhook-Id`), if any. */
  webhookId: string | null;
  /** Runs started (claims taken), including one lost to a crash. */
  attempts: number;
  cancelRequested: boolean;
  /** The terminal event was handed to the event sink (or there is none). */
  eventEmitted: boolean;
  /** The completion (`succeeded`). */
  result: Record<string, unknown> | null;
  /** The OpenAI error object (`failed`, `cancelled`). */
  error: Record<string, unknown> | null;
  /** Milliseconds since the epoch, like every time in the store. */
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** When a finished job is deleted (retention); null while it is not finished. */
  expiresAt: number | null;
}

/** A job a worker holds: the record and the token that proves the claim. */
export interface ClaimedJob {
  job: JobRecord;
  token: string;
}

export interface NewJob {
  keyId: string;
  tier: string;
  endpoint: string;
  model: string;
  request: Record<string, unknown>;
  requestId: string;
  clientRequestId: string | null;
  webhookId: string | null;
}

export interface JobFinish {
  status: TerminalStatus;
  result?: Record<string, unknown> | null;
  error?: Record<string, unknown> | null;
  /** How long the finished job is kept. */
  retentionMs: number;
  /** True when nothing needs to be emitted (no event sink). */
  eventEmitted?: boolean;
}

export interface JobRepository {
  create(input: NewJob): Promise<JobRecord>;
  /** The job, or undefined when unknown or owned by another key. */
  get(keyId: string, id: string): Promise<JobRecord | undefined>;
  /** The key's jobs, newest first; `after` is the id of the last job of the previous page. */
  list(query: {
    keyId: string;
    limit: number;
    after?: string;
  }): Promise<{ data: JobRecord[]; hasMore: boolean }>;
  /**
   * Claims the oldest runnable job (queued, or running with a lapsed lease: its worker died)
   * for `leaseMs`, counting an attempt. Several workers on one database never get the same one.
   */
  claim(leaseMs: number): Promise<ClaimedJob | undefined>;
  /** Extends a held claim; `held` is false once it is no longer this token's. */
  renew(id: string, token: string, leaseMs: number): Promise<{ held: boolean; cancelRequested: boolean }>;
  /** Ends a held job; undefined (nothing written) when the claim is no longer this token's. */
  finish(id: string, token: string, end: JobFinish): Promise<JobRecord | undefined>;
  /**
   * Puts a held job back in the queue (a retryable failure, or shutdown). `refund` takes the
   * attempt back: a run stopped by a graceful shutdown did not fail.
   */
  release(id: string, token: string, refund: boolean): Promise<boolean>;
  /**
   * Cancels: a queued job ends `cancelled` at once; a running one is flagged (its worker
   * aborts the upstream request and ends it). A finished job is returned unchanged.
   */
  cancel(
    keyId: string,
    id: string,
    retentionMs: number,
    error: Record<string, unknown>,
  ): Promise<JobRecord | undefined>;
  /** Finished jobs whose event was not handed to the sink yet (a crash between the two). */
  unemitted(limit: number): Promise<JobRecord[]>;
  markEmitted(id: string): Promise<void>;
  /** Deletes up to `batchSize` finished jobs past their retention; returns how many. */
  sweep(batchSize: number): Promise<number>;
  /** Jobs by status (metrics). */
  countByStatus(): Promise<Partial<Record<JobStatus, number>>>;
}

export function newJobId(): string {
  return `job_${randomBytes(12).toString("hex")}`;
}

export function newClaimToken(): string {
  return randomBytes(16).toString("hex");
}

export const JOB_COLUMNS =
  "id, key_id, tier, status, endpoint, model, request, request_id, client_request_id, webhook_id, attempts, cancel_requested, event_emitted, result, error, created_at, started_at, finished_at, expires_at";

export interface JobRow {
  id: string;
  key_id: string;
  tier: string;
  status: string;
  endpoint: string;
  model: string;
  request: string;
  request_id: string;
  client_request_id: string | null;
  webhook_id: string | null;
  attempts: number;
  cancel_requested: number | boolean;
  event_emitted: number | boolean;
  result: string | null;
  error: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  expires_at: number | null;
}

const parse = (text: string | null) => (text === null ? null : (JSON.parse(text) as Record<string, unknown>));

export function toJobRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    keyId: row.key_id,
    tier: row.tier,
    status: row.status as JobStatus,
    endpoint: row.endpoint,
    model: row.model,
    request: JSON.parse(row.request) as Record<string, unknown>,
    requestId: row.request_id,
    clientRequestId: row.client_request_id,
    webhookId: row.webhook_id,
    attempts: row.attempts,
    cancelRequested: Boolean(row.cancel_requested),
    eventEmitted: Boolean(row.event_emitted),
    result: parse(row.result),
    error: parse(row.error),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    expiresAt: row.expires_at,
  };
}

/** Rows a claim may take: queued, or running under a lease that lapsed (`?` is now). */
export const RUNNABLE = "(status = 'queued' OR (status = 'running' AND lease_until <= ?))";
