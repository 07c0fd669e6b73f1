/**
 * JobRepository over SQLite. A claim is one `UPDATE … RETURNING` inside an IMMEDIATE
 * transaction (the file's write lock), so gateway processes sharing the file never claim
 * the same job; every terminal write matches the claim token.
 */
import {
  JOB_COLUMNS,
  type JobRecord,
  type JobRepository,
  type JobRow,
  type JobStatus,
  newClaimToken,
  newJobId,
  RUNNABLE,
  toJobRecord,
} from "../jobs.ts";
import type { SqliteDatabase } from "./database.ts";

export function createSqliteJobRepository(db: SqliteDatabase, now: () => number = Date.now): JobRepository {
  const insert = db.prepare(
    `INSERT INTO jobs (id, key_id, tier, status, endpoint, model, request, request_id, client_request_id, webhook_id, created_at)
     VALUES (@id, @keyId, @tier, 'queued', @endpoint, @model, @request, @requestId, @clientRequestId, @webhookId, @now)
     RETURNING ${JOB_COLUMNS}`,
  );
  const byKey = db.prepare<[string, string], JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE key_id = ? AND id = ?`,
  );
  const claimOne = db.prepare<[string, number, number, number], JobRow>(
    `UPDATE jobs SET status = 'running', claim_token = ?, lease_until = ?, attempts = attempts + 1,
       started_at = coalesce(started_at, ?)
     WHERE id = (SELECT id FROM jobs WHERE ${RUNNABLE} AND finished_at IS NULL ORDER BY created_at, id LIMIT 1)
     RETURNING ${JOB_COLUMNS}`,
  );
  const renewOne = db.prepare<[number, string, string], { cancel_requested: number }>(
    `UPDATE jobs SET lease_until = ? WHERE id = ? AND claim_token = ? AND status = 'running'
     RETURNING cancel_requested`,
  );
  const finishOne = db.prepare(
    `UPDATE jobs SET status = @status, result = @result, error = @error, claim_token = NULL, lease_until = NULL,
       finished_at = @now, expires_at = @expiresAt, event_emitted = @emitted
     WHERE id = @id AND claim_token = @token AND status = 'running'
     RETURNING ${JOB_COLUMNS}`,
  );
  const releaseOne = db.prepare(
    `UPDATE jobs SET status = 'queued', claim_token = NULL, lease_until = NULL,
       attempts = attempts - @refund
     WHERE id = @id AND claim_token = @token AND status = 'running'`,
  );
  const cancelQueued = db.prepare(
    `UPDATE jobs SET status = 'cancelled', cancel_requested = 1, error = @error, finished_at = @now,
       expires_at = @expiresAt
     WHERE key_id = @keyId AND id = @id AND status = 'queued'`,
  );
  const cancelRunning = db.prepare(
    "UPDATE jobs SET cancel_requested = 1 WHERE key_id = @keyId AND id = @id AND status = 'running'",
  );
  const unemittedRows = db.prepare<[number], JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE event_emitted = 0 AND finished_at IS NOT NULL ORDER BY finished_at LIMIT ?`,
  );
  const emitted = db.prepare<[string]>("UPDATE jobs SET event_emitted = 1 WHERE id = ?");
  const removeExpired = db.prepare<[number, number]>(
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
  );
  const counts = db.prepare<[], { status: string; n: number }>(
    "SELECT status, count(*) AS n FROM jobs GROUP BY status",
  );

  const claim = db.transaction((leaseMs: number) => {
    const at = now();
    const token = newClaimToken();
    const row = claimOne.get(token, at + leaseMs, at, at);
    return row ? { job: toJobRecord(row), token } : undefined;
  });
  const cancel = db.transaction((keyId: string, id: string, retentionMs: number, error: string) => {
    const at = now();
    cancelQueued.run({ keyId, id, error, now: at, expiresAt: at + retentionMs });
    cancelRunning.run({ keyId, id });
    const row = byKey.get(keyId, id);
    return row ? toJobRecord(row) : undefined;
  });

  return {
    async create(input) {
      const row = insert.get({
        ...input,
        id: newJobId(),
        request: JSON.stringify(input.request),
        now: now(),
      }) as JobRow;
      return toJobRecord(row);
    },
    async get(keyId, id) {
      const row = byKey.get(keyId, id);
      return row ? toJobRecord(row) : undefined;
    },
    async list({ keyId, limit, after }) {
      const params: unknown[] = [keyId];
      let cursor = "";
      if (after) {
        const last = byKey.get(keyId, after);
        if (!last) return { data: [], hasMore: false };
        cursor = " AND (created_at < ? OR (created_at = ? AND id < ?))";
        params.push(last.created_at, last.created_at, last.id);
      }
      params.push(limit + 1);
      const rows = db
        .prepare(
          `SELECT ${JOB_COLUMNS} FROM jobs WHERE key_id = ?${cursor} ORDER BY created_at DESC, id DESC LIMIT ?`,
        )
        .all(...params) as JobRow[];
      return { data: rows.slice(0, limit).map(toJobRecord), hasMore: rows.length > limit };
    },
    async claim(leaseMs) {
      return claim.immediate(leaseMs);
    },
    async renew(id, token, leaseMs) {
      const row = renewOne.get(now() + leaseMs, id, token);
      return { held: row !== undefined, cancelRequested: Boolean(row?.cancel_requested) };
    },
    async finish(id, token, end) {
      const at = now();
      const row = finishOne.get({
        id,
        token,
        status: end.status,
        result: end.result ? JSON.stringify(end.result) : null,
        error: end.error ? JSON.stringify(end.error) : null,
        now: at,
        expiresAt: at + end.retentionMs,
        emitted: end.eventEmitted ? 1 : 0,
      }) as JobRow | undefined;
      return row ? toJobRecord(row) : undefined;
    },
    async release(id, token, refund) {
      return releaseOne.run({ id, token, refund: refund ? 1 : 0 }).changes > 0;
    },
    async cancel(keyId, id, retentionMs, error) {
      return cancel.immediate(keyId, id, retentionMs, JSON.stringify(error)) as JobRecord | undefined;
    },
    async unemitted(limit) {
      return unemittedRows.all(limit).map(toJobRecord);
    },
    async markEmitted(id) {
      emitted.run(id);
    },
    async sweep(batchSize) {
      return removeExpired.run(now(), batchSize).changes;
    },
    async countByStatus() {
      const out: Partial<Record<JobStatus, number>> = {};
      for (const { status, n } of counts.all()) out[status as JobStatus] = n;
      return out;
    },
  };
}
