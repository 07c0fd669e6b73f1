/**
 * WebhookRepository over Postgres, shared by every gateway replica. Claims take due rows
 * with `FOR UPDATE SKIP LOCKED` and set a lease in the same statement, so replicas claiming
 * together each get different deliveries and never wait on each other.
 */
import {
  type AttemptRow,
  DELIVERY_COLUMNS,
  type DeliveryRow,
  ENDPOINT_COLUMNS,
  type EndpointRow,
  newDeliveryId,
  newEndpointId,
  nextColumns,
  signingSecrets,
  subscribed,
  toAttempt,
  toDelivery,
  toEndpoint,
  type WebhookRepository,
} from "../webhooks.ts";
import type { Query, Transaction } from "./database.ts";

type ClaimRow = DeliveryRow &
  Pick<EndpointRow, "url" | "secret" | "previous_secret" | "previous_secret_until"> & { payload: string };

const D = DELIVERY_COLUMNS.split(", ")
  .map((c) => `d.${c}`)
  .join(", ");

export function createPostgresWebhookRepository(
  query: Query,
  transaction: Transaction,
  now: () => number = Date.now,
): WebhookRepository {
  return {
    async createEndpoint({ keyId, url, events, description, secret }) {
      const { rows } = await query<EndpointRow>(
        `INSERT INTO webhook_endpoints (id, key_id, url, events, description, secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${ENDPOINT_COLUMNS}`,
        [newEndpointId(), keyId, url, events ? JSON.stringify(events) : null, description, secret, now()],
      );
      return toEndpoint(rows[0]!);
    },
    async getEndpoint(keyId, id) {
      const { rows } = await query<EndpointRow>(
        `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE key_id = $1 AND id = $2`,
        [keyId, id],
      );
      return rows[0] ? toEndpoint(rows[0]) : undefined;
    },
    async listEndpoints(keyId) {
      const { rows } = await query<EndpointRow>(
        `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE key_id = $1 ORDER BY created_at, id`,
        [keyId],
      );
      return rows.map(toEndpoint);
    },
    async deleteEndpoint(keyId, id) {
      const { rowCount } = await query("DELETE FROM webhook_endpoints WHERE key_id = $1 AND id = $2", [
        keyId,
        id,
      ]);
      return (rowCount ?? 0) > 0;
    },
    async rotateSecret(keyId, id, secret, previousUntil) {
      const { rows } = await query<EndpointRow>(
        `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $1, secret = $2
         WHERE key_id = $3 AND id = $4 RETURNING ${ENDPOINT_COLUMNS}`,
        [previousUntil, secret, keyId, id],
      );
      return rows[0] ? toEndpoint(rows[0]) : undefined;
    },
    async enqueue(event) {
      const { rows } = await query<EndpointRow>(
        event.endpointId
          ? `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE key_id = $1 AND id = $2`
          : `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE key_id = $1`,
        event.endpointId ? [event.keyId, event.endpointId] : [event.keyId],
      );
      const targets = rows.map(toEndpoint).filter((e) => event.endpointId || subscribed(e, event.eventType));
      if (targets.length === 0) return 0;
      const at = now();
      const values: unknown[] = [];
      const tuples = targets.map((t) => {
        const n = values.push(
          newDeliveryId(),
          t.id,
          event.keyId,
          event.eventId,
          event.eventType,
          event.payload,
          at,
        );
        const p = (i: number) => `$${n - 7 + i}`;
        return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, 'pending', ${p(7)}, ${p(7)}, ${p(7)})`;
      });
      const { rowCount } = await query(
        `INSERT INTO webhook_deliveries (id, endpoint_id, key_id, event_id, event_type, payload, status, next_attempt_at, created_at, updated_at)
         VALUES ${tuples.join(", ")} ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
        values,
      );
      return rowCount ?? 0;
    },
    async claim({ limit, leaseMs, token }) {
      const at = now();
      const { rows } = await query<ClaimRow>(
        `WITH due AS (
           SELECT id FROM webhook_deliveries
           WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
           ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ), taken AS (
           UPDATE webhook_deliveries d SET lease_token = $3, lease_until = $4 FROM due WHERE d.id = due.id
           RETURNING ${D}, d.payload
         )
         SELECT taken.*, e.url, e.secret, e.previous_secret, e.previous_secret_until
         FROM taken JOIN webhook_endpoints e ON e.id = taken.endpoint_id`,
        [at, limit, token, at + leaseMs],
      );
      return rows.map((r) => ({
        ...toDelivery(r),
        payload: r.payload,
        url: r.url,
        secrets: signingSecrets(r, at),
      }));
    },
    async finish({ deliveryId, token, attempt, next }) {
      const { status, nextAt, failed } = nextColumns(next);
      return transaction(async (q) => {
        const { rows } = await q<{ attempts: number }>(
          `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, failures = failures + $2,
             next_attempt_at = $3, lease_token = NULL, lease_until = NULL, updated_at = $4,
             last_status_code = $5, last_error = $6
           WHERE id = $7 AND lease_token = $8 RETURNING attempts`,
          [status, failed, nextAt, now(), attempt.statusCode, attempt.error, deliveryId, token],
        );
        if (!rows[0]) return false;
        await q(
          `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            deliveryId,
            rows[0].attempts,
            attempt.startedAt,
            attempt.durationMs,
            attempt.statusCode,
            attempt.error,
          ],
        );
        return true;
      });
    },
    async listDeliveries(keyId, endpointId, limit) {
      const { rows } = await query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE key_id = $1 AND endpoint_id = $2
         ORDER BY created_at DESC, id DESC LIMIT $3`,
        [keyId, endpointId, limit + 1],
      );
      const page = rows.slice(0, limit);
      const { rows: attempts } = await query<AttemptRow>(
        "SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY attempt",
        [page.map((r) => r.id)],
      );
      return {
        deliveries: page.map((r) => ({
          ...toDelivery(r),
          log: attempts.filter((a) => a.delivery_id === r.id).map(toAttempt),
        })),
        hasMore: rows.length > limit,
      };
    },
    async redeliver(keyId, endpointId, deliveryId) {
      const at = now();
      const { rows } = await query<DeliveryRow>(
        `UPDATE webhook_deliveries SET status = 'pending', failures = 0, next_attempt_at = $1, updated_at = $1
         WHERE key_id = $2 AND endpoint_id = $3 AND id = $4 RETURNING ${DELIVERY_COLUMNS}`,
        [at, keyId, endpointId, deliveryId],
      );
      return rows[0] ? toDelivery(rows[0]) : undefined;
    },
    async sweep(before, batchSize) {
      const { rowCount } = await query(
        `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
           WHERE status IN ('succeeded', 'failed') AND updated_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, batchSize],
      );
      return rowCount ?? 0;
    },
    async pendingCount() {
      const { rows } = await query<{ n: number }>(
        "SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'",
      );
      return rows[0]!.n;
    },
  };
}
