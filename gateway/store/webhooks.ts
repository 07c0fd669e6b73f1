/**
 * Webhook endpoints and their delivery outbox: the repository both dialects implement
 * (sqlite/sqliteWebhooks.ts, postgres/postgresWebhooks.ts; webhooks.contract.test.ts runs
 * the same tests on each). An endpoint belongs to one API key. A delivery is one event for
 * one endpoint; the worker claims due deliveries under a lease (token + expiry), so two
 * replicas never send the same attempt at once and a crashed replica's claim lapses.
 */
import { randomBytes } from "node:crypto";
import { NotFound } from "./errors.ts";

export interface WebhookEndpoint {
  id: string;
  keyId: string;
  url: string;
  /** Event types it receives; null: every type. */
  events: string[] | null;
  description: string | null;
  /** The signing secret (`whsec_…`); shown to the client once, kept so the gateway can sign. */
  secret: string;
  /** The secret before the last rotation, still signed with until `previousSecretUntil`. */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  createdAt: number;
}

export type DeliveryStatus = "pending" | "succeeded" | "failed";

export interface DeliveryAttempt {
  /** 1-based number of this attempt over the delivery's life (redeliveries continue it). */
  attempt: number;
  startedAt: number;
  durationMs: number;
  /** The receiver's HTTP status; null when no response came (refused, timeout, reset). */
  statusCode: number | null;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  keyId: string;
  /** The event id: the `webhook-id` header, identical on every attempt (receivers dedupe on it). */
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  /** Failed attempts since the last success or redelivery: the index into the retry schedule. */
  failures: number;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

/** A delivery the worker holds: what it needs to send it. */
export interface ClaimedDelivery extends WebhookDelivery {
  payload: string;
  url: string;
  secrets: string[];
}

export interface NewEndpoint {
  keyId: string;
  url: string;
  events: string[] | null;
  description: string | null;
  secret: string;
}

export interface OutboxEvent {
  eventId: string;
  eventType: string;
  keyId: string;
  /** One named endpoint of the key, or null: every endpoint of the key subscribed to the type. */
  endpointId: string | null;
  /** The JSON body every endpoint receives. */
  payload: string;
}

export type DeliveryNext = { status: "succeeded" } | { status: "failed" } | { status: "pending"; at: number };

export interface FinishedAttempt {
  deliveryId: string;
  token: string;
  attempt: Omit<DeliveryAttempt, "attempt">;
  next: DeliveryNext;
}

export interface WebhookRepository {
  createEndpoint(input: NewEndpoint): Promise<WebhookEndpoint>;
  getEndpoint(keyId: string, id: string): Promise<WebhookEndpoint | undefined>;
  listEndpoints(keyId: string): Promise<WebhookEndpoint[]>;
  /** Deletes the endpoint with its deliveries; false when the key has no such endpoint. */
  deleteEndpoint(keyId: string, id: string): Promise<boolean>;
  /** Replaces the secret; the old one stays in `previousSecret` until `previousUntil`. */
  rotateSecret(
    keyId: string,
    id: string,
    secret: string,
    previousUntil: number,
  ): Promise<WebhookEndpoint | undefined>;
  /**
   * Records one delivery per target endpoint, due now. Idempotent on (event id, endpoint):
   * emitting an event twice adds nothing. Returns the deliveries created by this call.
   */
  enqueue(event: OutboxEvent): Promise<number>;
  /**
   * Takes up to `limit` due, unleased pending deliveries under `token` for `leaseMs`. A lease
   * that lapses (a crashed worker) makes the delivery claimable again: at-least-once.
   */
  claim(opts: { limit: number; leaseMs: number; token: string }): Promise<ClaimedDelivery[]>;
  /**
   * Logs the attempt and moves the delivery on (`next`), releasing the lease; false (nothing
   * written) when the lease is no longer `token`'s.
   */
  finish(done: FinishedAttempt): Promise<boolean>;
  /** A key's deliveries to one endpoint, newest first, with their attempts. */
  listDeliveries(
    keyId: string,
    endpointId: string,
    limit: number,
  ): Promise<{ deliveries: (WebhookDelivery & { log: DeliveryAttempt[] })[]; hasMore: boolean }>;
  /** Makes a delivery due now with a fresh retry schedule (whatever its status). */
  redeliver(keyId: string, endpointId: string, deliveryId: string): Promise<WebhookDelivery | undefined>;
  /** Deliveries waiting to be sent (pending), across every key: the outbox depth. */
  pendingCount(): Promise<number>;
  /**
   * Deletes up to `batchSize` settled (succeeded or failed) deliveries last changed before
   * `before`, with their attempts; returns how many. Pending ones are never deleted.
   */
  sweep(before: number, batchSize: number): Promise<number>;
}

export function newEndpointId(): string {
  return `we_${randomBytes(12).toString("hex")}`;
}

export function newDeliveryId(): string {
  return `whd_${randomBytes(12).toString("hex")}`;
}

/** A Standard Webhooks secret: `whsec_` and base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

export function endpointNotFound(id: string): NotFound {
  return new NotFound("webhook_not_found", "webhook_id", `No webhook endpoint with id \`${id}\`.`);
}

export function deliveryNotFound(id: string): NotFound {
  return new NotFound(
    "delivery_not_found",
    "delivery_id",
    `No delivery with id \`${id}\` for this endpoint.`,
  );
}

export const ENDPOINT_COLUMNS =
  "id, key_id, url, events, description, secret, previous_secret, previous_secret_until, created_at";

export interface EndpointRow {
  id: string;
  key_id: string;
  url: string;
  events: string | null;
  description: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  created_at: number;
}

export function toEndpoint(r: EndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    keyId: r.key_id,
    url: r.url,
    events: r.events === null ? null : (JSON.parse(r.events) as string[]),
    description: r.description,
    secret: r.secret,
    previousSecret: r.previous_secret,
    previousSecretUntil: r.previous_secret_until,
    createdAt: r.created_at,
  };
}

/** Whether an endpoint receives events of `type`. */
export function subscribed(e: Pick<WebhookEndpoint, "events">, type: string): boolean {
  return e.events === null || e.events.includes(type);
}

export const DELIVERY_COLUMNS =
  "id, endpoint_id, key_id, event_id, event_type, status, attempts, failures, next_attempt_at, created_at, updated_at, last_status_code, last_error";

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  key_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  failures: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
  last_status_code: number | null;
  last_error: string | null;
}

export function toDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    keyId: r.key_id,
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    failures: r.failures,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
  };
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

export function toAttempt(r: AttemptRow): DeliveryAttempt {
  return {
    attempt: r.attempt,
    startedAt: r.started_at,
    durationMs: r.duration_ms,
    statusCode: r.status_code,
    error: r.error,
  };
}

/** The secrets to sign with at `now`: the current one, and the previous during its grace period. */
export function signingSecrets(
  e: Pick<EndpointRow, "secret" | "previous_secret" | "previous_secret_until">,
  now: number,
): string[] {
  return e.previous_secret && (e.previous_secret_until ?? 0) > now
    ? [e.secret, e.previous_secret]
    : [e.secret];
}

/** Columns of the next state of a delivery after an attempt. */
export function nextColumns(next: DeliveryNext): {
  status: DeliveryStatus;
  nextAt: number | null;
  failed: 0 | 1;
} {
  if (next.status === "pending") return { status: "pending", nextAt: next.at, failed: 1 };
  return { status: next.status, nextAt: null, failed: next.status === "failed" ? 1 : 0 };
}
