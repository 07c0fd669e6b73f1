/**
 * JobRepository over Postgres, shared by every gateway replica. A claim takes the oldest
 * runnable row with `FOR UPDATE SKIP LOCKED`: replicas claiming together each get a different
 * job and never wait on each other. Every terminal write matches the claim token.
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
import type { Query } from "./database.ts";

/** `RUNNABLE` with its `?` as the given positional parameter. */
const runnable = (n: number) => RUNNABLE.replace("?", `$${n}`);

export function createPostgresJobRepository(query: Query, now: () => number = Date.now): JobRepository {
  async function one(sql: string, params: unknown[]): Promise<JobRecord | undefined> {
    const { rows } = await query<JobRow>(sql, params);
    return rows[0] ? toJobRecord(rows[0]) : undefined;
  }
  const get = (keyId: string, id: string) =>
    one(`SELECT ${JOB_COLUMNS} FROM jobs WHERE key_id = $1 AND id = $2`, [keyId, id]);

  return {
    async create(input) {
      return (await one(
        `INSERT INTO jobs (id, key_id, tier, status, endpoint, model, request, request_id, client_request_id, webhook_id, created_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10) RETURNING ${JOB_COLUMNS}`,
        [
          newJobId(),
          input.keyId,
          input.tier,
          input.endpoint,
          input.model,
          JSON.stringify(input.request),
          input.requestId,
          input.clientRequestId,
          input.webhookId,
          now(),
        ],
      ))!;
    },
    get,
    async list({ keyId, limit, after }) {
      const params: unknown[] = [keyId, limit + 1];
      let cursor = "";
      if (after) {
        const last = await get(keyId, after);
        if (!last) return { data: [], hasMore: false };
        params.push(last.createdAt, last.id);
        cursor = " AND (created_at, id) < ($3, $4)";
      }
      const { rows } = await query<JobRow>(
        `SELECT ${JOB_COLUMNS} FROM jobs WHERE key_id = $1${cursor} ORDER BY created_at DESC, id DESC LIMIT $2`,
        params,
      );
      return { data: rows.slice(0, limit).map(toJobRecord), hasMore: rows.length > limit };
    },
    async claim(leaseMs) {
      const at = now();
      const token = newClaimToken();
      // One statement: the inner SELECT locks the row it picks (skipping rows other replicas
      // hold), the UPDATE takes it; the outer condition re-checks it under the lock.
      const job = await one(
        `UPDATE jobs SET status = 'running', claim_token = $1, lease_until = $2, attempts = attempts + 1,
           started_at = coalesce(started_at, $3)
         WHERE id = (SELECT id FROM jobs WHERE ${runnable(3)} AND finished_at IS NULL
                     ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
           AND ${runnable(3)}
         RETURNING ${JOB_COLUMNS}`,
        [token, at + leaseMs, at],
      );
      return job ? { job, token } : undefined;
    },
    async renew(id, token, leaseMs) {
      const { rows } = await query<{ cancel_requested: number }>(
        `UPDATE jobs SET lease_until = $1 WHERE id = $2 AND claim_token = $3 AND status = 'running'
         RETURNING cancel_requested`,
        [now() + leaseMs, id, token],
      );
      return { held: rows.length > 0, cancelRequested: Boolean(rows[0]?.cancel_requested) };
    },
    async finish(id, token, end) {
      const at = now();
      return one(
        `UPDATE jobs SET status = $3, result = $4, error = $5, claim_token = NULL, lease_until = NULL,
           finished_at = $6, expires_at = $7, event_emitted = $8
         WHERE id = $1 AND claim_token = $2 AND status = 'running'
         RETURNING ${JOB_COLUMNS}`,
        [
          id,
          token,
          end.status,
          end.result ? JSON.stringify(end.result) : null,
          end.error ? JSON.stringify(end.error) : null,
          at,
          at + end.retentionMs,
          end.eventEmitted ? 1 : 0,
        ],
      );
    },
    async release(id, token, refund) {
      const { rowCount } = await query(
        `UPDATE jobs SET status = 'queued', claim_token = NULL, lease_until = NULL, attempts = attempts - $3
         WHERE id = $1 AND claim_token = $2 AND status = 'running'`,
        [id, token, refund ? 1 : 0],
      );
      return (rowCount ?? 0) > 0;
    },
    async cancel(keyId, id, retentionMs, error) {
      const at = now();
      // One statement per case; each is atomic on its row, and a job is in one case only.
      await query(
        `UPDATE jobs SET status = 'cancelled', cancel_requested = 1, error = $3, finished_at = $4, expires_at = $5
         WHERE key_id = $1 AND id = $2 AND status = 'queued'`,
        [keyId, id, JSON.stringify(error), at, at + retentionMs],
      );
      await query(
        "UPDATE jobs SET cancel_requested = 1 WHERE key_id = $1 AND id = $2 AND status = 'running'",
        [keyId, id],
      );
      return get(keyId, id);
    },
    async unemitted(limit) {
      const { rows } = await query<JobRow>(
        `SELECT ${JOB_COLUMNS} FROM jobs WHERE event_emitted = 0 AND finished_at IS NOT NULL ORDER BY finished_at LIMIT $1`,
        [limit],
      );
      return rows.map(toJobRecord);
    },
    async markEmitted(id) {
      await query("UPDATE jobs SET event_emitted = 1 WHERE id = $1", [id]);
    },
    async sweep(batchSize) {
      const { rowCount } = await query(
        `DELETE FROM jobs WHERE id IN (
           SELECT id FROM jobs WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [now(), batchSize],
      );
      return rowCount ?? 0;
    },
    async countByStatus() {
      const { rows } = await query<{ status: string; n: number }>(
        "SELECT status, count(*)::int AS n FROM jobs GROUP BY status",
      );
      const out: Partial<Record<JobStatus, number>> = {};
      for (const { status, n } of rows) out[status as JobStatus] = n;
      return out;
    },
  };
}
