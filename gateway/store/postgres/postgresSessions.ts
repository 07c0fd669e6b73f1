/**
 * SessionRepository over Postgres, shared by every gateway replica. A turn's lock is a
 * row-level lease (`lock_token`, `lock_until`) taken under `SELECT … FOR UPDATE`, so two
 * replicas cannot both start a turn on one session; the sweeper skips rows another
 * sweeper holds (`FOR UPDATE SKIP LOCKED`), so replicas sweeping together never wait.
 */
import {
  encodeMessage,
  lockLost,
  newSessionId,
  SESSION_COLUMNS,
  type SessionLockRow,
  type SessionRecord,
  type SessionRepository,
  type SessionRow,
  type StoredMessage,
  sessionBusy,
  toSessionRecord,
} from "../sessions.ts";
import type { Query, Transaction } from "./database.ts";

const SELECT_LOCKED = `SELECT ${SESSION_COLUMNS}, lock_token, lock_until FROM sessions WHERE key_id = $1 AND id = $2 FOR UPDATE`;

export function createPostgresSessionRepository(
  query: Query,
  transaction: Transaction,
  now: () => number = Date.now,
): SessionRepository {
  async function one(q: Query, sql: string, params: unknown[]): Promise<SessionRecord | undefined> {
    const { rows } = await q<SessionRow>(sql, params);
    return rows[0] ? toSessionRecord(rows[0]) : undefined;
  }
  async function messagesOf(q: Query, keyId: string, id: string): Promise<StoredMessage[]> {
    const { rows } = await q<{ message: string }>(
      "SELECT message FROM session_messages WHERE key_id = $1 AND session_id = $2 ORDER BY seq",
      [keyId, id],
    );
    return rows.map((r) => JSON.parse(r.message) as StoredMessage);
  }

  return {
    async create({ keyId, metadata, ttlMs }) {
      const at = now();
      return (await one(
        query,
        `INSERT INTO sessions (key_id, id, metadata, created_at, last_active_at, expires_at)
         VALUES ($1, $2, $3, $4, $4, $5) RETURNING ${SESSION_COLUMNS}`,
        [keyId, newSessionId(), metadata ? JSON.stringify(metadata) : null, at, at + ttlMs],
      ))!;
    },

    get: (keyId, id) =>
      one(
        query,
        `SELECT ${SESSION_COLUMNS} FROM sessions WHERE key_id = $1 AND id = $2 AND expires_at > $3`,
        [keyId, id, now()],
      ),

    async messages(keyId, id) {
      const { rows } = await query(
        "SELECT 1 FROM sessions WHERE key_id = $1 AND id = $2 AND expires_at > $3",
        [keyId, id, now()],
      );
      return rows.length > 0 ? messagesOf(query, keyId, id) : [];
    },

    async list({ keyId, limit, after }) {
      const params: unknown[] = [now(), limit + 1];
      const clauses = ["expires_at > $1"];
      if (keyId !== undefined) {
        params.push(keyId);
        clauses.push(`key_id = $${params.length}`);
      }
      if (after) {
        params.push(after.createdAt, after.keyId, after.id);
        const n = params.length;
        clauses.push(`(created_at, key_id, id) < ($${n - 2}, $${n - 1}, $${n})`);
      }
      const { rows } = await query<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM sessions WHERE ${clauses.join(" AND ")}
         ORDER BY created_at DESC, key_id DESC, id DESC LIMIT $2`,
        params,
      );
      return { data: rows.slice(0, limit).map(toSessionRecord), hasMore: rows.length > limit };
    },

    async delete(keyId, id) {
      const { rowCount } = await query(
        "DELETE FROM sessions WHERE key_id = $1 AND id = $2 AND expires_at > $3",
        [keyId, id, now()],
      );
      return (rowCount ?? 0) > 0;
    },

    begin: ({ keyId, id, ttlMs, lease }) =>
      transaction(async (q) => {
        const at = now();
        // Two first turns racing: one inserts, the other finds the row and waits on its lock below.
        await q(
          `INSERT INTO sessions (key_id, id, created_at, last_active_at, expires_at)
           VALUES ($1, $2, $3, $3, $4) ON CONFLICT (key_id, id) DO NOTHING`,
          [keyId, id, at, at + ttlMs],
        );
        const row = (await q<SessionLockRow>(SELECT_LOCKED, [keyId, id])).rows[0]!;
        if (row.lock_token !== null && row.lock_token !== lease.token && (row.lock_until ?? 0) > at) {
          throw sessionBusy(id);
        }
        if (row.expires_at <= at) {
          // Expired but not swept yet: it behaves as a new session.
          await q("DELETE FROM session_messages WHERE key_id = $1 AND session_id = $2", [keyId, id]);
          await q(
            `UPDATE sessions SET metadata = NULL, created_at = $3, message_count = 0, bytes = 0, requests = 0,
               prompt_tokens = 0, completion_tokens = 0, reasoning_tokens = 0, cached_tokens = 0
             WHERE key_id = $1 AND id = $2`,
            [keyId, id, at],
          );
        }
        const session = (await one(
          q,
          `UPDATE sessions SET lock_token = $3, lock_until = $4, last_active_at = $5, expires_at = $6
           WHERE key_id = $1 AND id = $2 RETURNING ${SESSION_COLUMNS}`,
          [keyId, id, lease.token, at + lease.ms, at, at + ttlMs],
        ))!;
        return { session, messages: await messagesOf(q, keyId, id) };
      }),

    async renew(keyId, id, lease) {
      const { rowCount } = await query(
        "UPDATE sessions SET lock_until = $4 WHERE key_id = $1 AND id = $2 AND lock_token = $3",
        [keyId, id, lease.token, now() + lease.ms],
      );
      return (rowCount ?? 0) > 0;
    },

    commit: (turn) =>
      transaction(async (q) => {
        const at = now();
        const row = (await q<SessionLockRow>(SELECT_LOCKED, [turn.keyId, turn.id])).rows[0];
        if (!row || row.lock_token !== turn.token) throw lockLost(turn.id);
        await q("DELETE FROM session_messages WHERE key_id = $1 AND session_id = $2 AND seq >= $3", [
          turn.keyId,
          turn.id,
          turn.keep,
        ]);
        if (turn.append.length > 0) {
          const encoded = turn.append.map(encodeMessage);
          await q(
            `INSERT INTO session_messages (key_id, session_id, seq, message, bytes)
             SELECT $1, $2, seq, message, bytes FROM unnest($3::int[], $4::text[], $5::int[]) AS m(seq, message, bytes)`,
            [
              turn.keyId,
              turn.id,
              encoded.map((_, i) => turn.keep + i),
              encoded.map((e) => e.json),
              encoded.map((e) => e.bytes),
            ],
          );
        }
        const u = turn.usage;
        return (await one(
          q,
          `UPDATE sessions SET message_count = $3,
             bytes = (SELECT coalesce(sum(bytes), 0) FROM session_messages WHERE key_id = $1 AND session_id = $2),
             requests = requests + 1, prompt_tokens = prompt_tokens + $4, completion_tokens = completion_tokens + $5,
             reasoning_tokens = reasoning_tokens + $6, cached_tokens = cached_tokens + $7,
             last_active_at = $8, expires_at = $9, lock_token = NULL, lock_until = NULL
           WHERE key_id = $1 AND id = $2 RETURNING ${SESSION_COLUMNS}`,
          [
            turn.keyId,
            turn.id,
            turn.keep + turn.append.length,
            u?.promptTokens ?? 0,
            u?.completionTokens ?? 0,
            u?.reasoningTokens ?? 0,
            u?.cachedTokens ?? 0,
            at,
            at + turn.ttlMs,
          ],
        ))!;
      }),

    async release(keyId, id, token) {
      await query(
        "UPDATE sessions SET lock_token = NULL, lock_until = NULL WHERE key_id = $1 AND id = $2 AND lock_token = $3",
        [keyId, id, token],
      );
    },

    async sweep(batchSize) {
      const at = now();
      const { rowCount } = await query(
        `DELETE FROM sessions WHERE (key_id, id) IN (
           SELECT key_id, id FROM sessions WHERE expires_at <= $1 AND (lock_until IS NULL OR lock_until <= $1)
           ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [at, batchSize],
      );
      return rowCount ?? 0;
    },
  };
}
