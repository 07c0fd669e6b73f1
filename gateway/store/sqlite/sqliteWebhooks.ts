/**
 * WebhookRepository over SQLite. Claims are one UPDATE … RETURNING under the file's write
 * lock, so processes sharing the file never claim the same delivery while a lease runs.
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
import type { SqliteDatabase } from "./database.ts";

type SigningRow = Pick<EndpointRow, "url" | "secret" | "previous_secret" | "previous_secret_until">;

export function createSqliteWebhookRepository(
  db: SqliteDatabase,
  now: () => number = Date.now,
): WebhookRepository {
  const endpoint = db.prepare<[string, string], EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE key_id = ? AND id = ?`,
  );
  const endpoints = db.prepare<[string], EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE key_id = ? ORDER BY created_at, id`,
  );
  const insertDelivery = db.prepare(
    `INSERT INTO webhook_deliveries (id, endpoint_id, key_id, event_id, event_type, payload, status, next_attempt_at, created_at, updated_at)
     VALUES (@id, @endpointId, @keyId, @eventId, @eventType, @payload, 'pending', @now, @now, @now)
     ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
  );
  const claim = db.prepare(
    `UPDATE webhook_deliveries SET lease_token = @token, lease_until = @until
     WHERE id IN (SELECT id FROM webhook_deliveries
                  WHERE status = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until < @now)
                  ORDER BY next_attempt_at LIMIT @limit)
     RETURNING ${DELIVERY_COLUMNS}, payload`,
  );
  // Runs right after `advance` incremented attempts: the logged attempt is that number.
  const logAttempt = db.prepare(
    `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
     SELECT id, attempts, @startedAt, @durationMs, @statusCode, @error FROM webhook_deliveries WHERE id = @id`,
  );
  const endpointOfClaim = db.prepare<[string], SigningRow>(
    "SELECT url, secret, previous_secret, previous_secret_until FROM webhook_endpoints WHERE id = ?",
  );
  const advance = db.prepare(
    `UPDATE webhook_deliveries SET status = @status, attempts = attempts + 1, failures = failures + @failed,
       next_attempt_at = @nextAt, lease_token = NULL, lease_until = NULL, updated_at = @now,
       last_status_code = @statusCode, last_error = @error
     WHERE id = @id AND lease_token = @token`,
  );
  const finish = db.transaction((p: Record<string, unknown>) => {
    if (advance.run(p).changes === 0) return false;
    logAttempt.run(p);
    return true;
  });

  return {
    async createEndpoint({ keyId, url, events, description, secret }) {
      const row = db
        .prepare<unknown[], EndpointRow>(
          `INSERT INTO webhook_endpoints (id, key_id, url, events, description, secret, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${ENDPOINT_COLUMNS}`,
        )
        .get(
          newEndpointId(),
          keyId,
          url,
          events ? JSON.stringify(events) : null,
          description,
          secret,
          now(),
        )!;
      return toEndpoint(row);
    },
    async getEndpoint(keyId, id) {
      const row = endpoint.get(keyId, id);
      return row ? toEndpoint(row) : undefined;
    },
    async listEndpoints(keyId) {
      return endpoints.all(keyId).map(toEndpoint);
    },
    async deleteEndpoint(keyId, id) {
      return (
        db.prepare("DELETE FROM webhook_endpoints WHERE key_id = ? AND id = ?").run(keyId, id).changes > 0
      );
    },
    async rotateSecret(keyId, id, secret, previousUntil) {
      const row = db
        .prepare<unknown[], EndpointRow>(
          `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = ?, secret = ?
           WHERE key_id = ? AND id = ? RETURNING ${ENDPOINT_COLUMNS}`,
        )
        .get(previousUntil, secret, keyId, id);
      return row ? toEndpoint(row) : undefined;
    },
    async enqueue(event) {
      return db
        .transaction(() => {
          const targets = event.endpointId
            ? [endpoint.get(event.keyId, event.endpointId)].filter((e) => e !== undefined)
            : endpoints.all(event.keyId).filter((e) => subscribed(toEndpoint(e), event.eventType));
          let created = 0;
          const at = now();
          for (const target of targets) {
            created += insertDelivery.run({
              ...event,
              id: newDeliveryId(),
              endpointId: target.id,
              now: at,
            }).changes;
          }
          return created;
        })
        .immediate();
    },
    async claim({ limit, leaseMs, token }) {
      const at = now();
      const rows = claim.all({ token, until: at + leaseMs, now: at, limit }) as (DeliveryRow & {
        payload: string;
      })[];
      return rows.map((r) => {
        const e = endpointOfClaim.get(r.endpoint_id)!;
        return { ...toDelivery(r), payload: r.payload, url: e.url, secrets: signingSecrets(e, at) };
      });
    },
    async finish({ deliveryId, token, attempt, next }) {
      const { status, nextAt, failed } = nextColumns(next);
      return finish({
        id: deliveryId,
        token,
        status,
        nextAt,
        failed,
        now: now(),
        startedAt: attempt.startedAt,
        durationMs: attempt.durationMs,
        statusCode: attempt.statusCode,
        error: attempt.error,
      });
    },
    async listDeliveries(keyId, endpointId, limit) {
      const rows = db
        .prepare<[string, string, number], DeliveryRow>(
          `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE key_id = ? AND endpoint_id = ?
           ORDER BY created_at DESC, id DESC LIMIT ?`,
        )
        .all(keyId, endpointId, limit + 1);
      const page = rows.slice(0, limit);
      const attempts = db.prepare<[string], AttemptRow>(
        "SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt",
      );
      return {
        deliveries: page.map((r) => ({ ...toDelivery(r), log: attempts.all(r.id).map(toAttempt) })),
        hasMore: rows.length > limit,
      };
    },
    async redeliver(keyId, endpointId, deliveryId) {
      const at = now();
      const row = db
        .prepare<unknown[], DeliveryRow>(
          `UPDATE webhook_deliveries SET status = 'pending', failures = 0, next_attempt_at = ?, updated_at = ?
           WHERE key_id = ? AND endpoint_id = ? AND id = ? RETURNING ${DELIVERY_COLUMNS}`,
        )
        .get(at, at, keyId, endpointId, deliveryId);
      return row ? toDelivery(row) : undefined;
    },
    async sweep(before, batchSize) {
      return db
        .prepare(
          `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
             WHERE status IN ('succeeded', 'failed') AND updated_at < ? LIMIT ?)`,
        )
        .run(before, batchSize).changes;
    },
    async pendingCount() {
      return db
        .prepare<[], { n: number }>("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'")
        .get()!.n;
    },
  };
}
