/**
 * SessionRepository over SQLite. Each turn's read-modify-write runs in an IMMEDIATE
 * transaction (the file's write lock), so gateway processes sharing the file cannot
 * interleave two turns of one session.
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
import type { SqliteDatabase } from "./database.ts";

export function createSqliteSessionRepository(
  db: SqliteDatabase,
  now: () => number = Date.now,
): SessionRepository {
  const byId = db.prepare<[string, string], SessionLockRow>(
    `SELECT ${SESSION_COLUMNS}, lock_token, lock_until FROM sessions WHERE key_id = ? AND id = ?`,
  );
  const insert = db.prepare(
    `INSERT INTO sessions (key_id, id, metadata, created_at, last_active_at, expires_at, lock_token, lock_until)
     VALUES (@keyId, @id, @metadata, @now, @now, @expiresAt, @token, @lockUntil)`,
  );
  const restart = db.prepare(
    `UPDATE sessions SET metadata = NULL, created_at = @now, message_count = 0, bytes = 0, requests = 0,
       prompt_tokens = 0, completion_tokens = 0, reasoning_tokens = 0, cached_tokens = 0
     WHERE key_id = @keyId AND id = @id`,
  );
  const lock = db.prepare(
    `UPDATE sessions SET lock_token = @token, lock_until = @lockUntil, last_active_at = @now, expires_at = @expiresAt
     WHERE key_id = @keyId AND id = @id`,
  );
  const renewLock = db.prepare(
    "UPDATE sessions SET lock_until = @lockUntil WHERE key_id = @keyId AND id = @id AND lock_token = @token",
  );
  const unlock = db.prepare(
    "UPDATE sessions SET lock_token = NULL, lock_until = NULL WHERE key_id = ? AND id = ? AND lock_token = ?",
  );
  const allMessages = db.prepare<[string, string], { message: string }>(
    "SELECT message FROM session_messages WHERE key_id = ? AND session_id = ? ORDER BY seq",
  );
  const dropFrom = db.prepare<[string, string, number]>(
    "DELETE FROM session_messages WHERE key_id = ? AND session_id = ? AND seq >= ?",
  );
  const insertMessage = db.prepare<[string, string, number, string, number]>(
    "INSERT INTO session_messages (key_id, session_id, seq, message, bytes) VALUES (?, ?, ?, ?, ?)",
  );
  const finish = db.prepare(
    `UPDATE sessions SET message_count = @count,
       bytes = (SELECT coalesce(sum(bytes), 0) FROM session_messages WHERE key_id = @keyId AND session_id = @id),
       requests = requests + 1, prompt_tokens = prompt_tokens + @prompt,
       completion_tokens = completion_tokens + @completion, reasoning_tokens = reasoning_tokens + @reasoning,
       cached_tokens = cached_tokens + @cached, last_active_at = @now, expires_at = @expiresAt,
       lock_token = NULL, lock_until = NULL
     WHERE key_id = @keyId AND id = @id`,
  );
  const remove = db.prepare<[string, string, number]>(
    "DELETE FROM sessions WHERE key_id = ? AND id = ? AND expires_at > ?",
  );
  const removeExpired = db.prepare<[number, number, number]>(
    `DELETE FROM sessions WHERE rowid IN (
       SELECT rowid FROM sessions WHERE expires_at <= ? AND (lock_until IS NULL OR lock_until <= ?)
       ORDER BY expires_at LIMIT ?)`,
  );

  const live = (row: SessionLockRow | undefined, at: number) =>
    row && row.expires_at > at ? row : undefined;
  const messagesOf = (keyId: string, id: string): StoredMessage[] =>
    allMessages.all(keyId, id).map((r) => JSON.parse(r.message) as StoredMessage);

  const begin = db.transaction((keyId: string, id: string, ttlMs: number, token: string, leaseMs: number) => {
    const at = now();
    const row = byId.get(keyId, id);
    const params = { keyId, id, now: at, expiresAt: at + ttlMs, token, lockUntil: at + leaseMs };
    if (!row) {
      insert.run({ ...params, metadata: null });
    } else {
      if (row.lock_token !== null && row.lock_token !== token && (row.lock_until ?? 0) > at) {
        throw sessionBusy(id);
      }
      if (row.expires_at <= at) {
        // Expired but not swept yet: it behaves as a new session.
        dropFrom.run(keyId, id, 0);
        restart.run({ keyId, id, now: at });
      }
      lock.run(params);
    }
    return { session: toSessionRecord(byId.get(keyId, id)!), messages: messagesOf(keyId, id) };
  });

  const commit = db.transaction((turn: Parameters<SessionRepository["commit"]>[0]) => {
    const at = now();
    const row = byId.get(turn.keyId, turn.id);
    if (!row || row.lock_token !== turn.token) throw lockLost(turn.id);
    dropFrom.run(turn.keyId, turn.id, turn.keep);
    turn.append.forEach((message, i) => {
      const { json, bytes } = encodeMessage(message);
      insertMessage.run(turn.keyId, turn.id, turn.keep + i, json, bytes);
    });
    const u = turn.usage;
    finish.run({
      keyId: turn.keyId,
      id: turn.id,
      count: turn.keep + turn.append.length,
      prompt: u?.promptTokens ?? 0,
      completion: u?.completionTokens ?? 0,
      reasoning: u?.reasoningTokens ?? 0,
      cached: u?.cachedTokens ?? 0,
      now: at,
      expiresAt: at + turn.ttlMs,
    });
    return toSessionRecord(byId.get(turn.keyId, turn.id)!);
  });

  return {
    async create({ keyId, metadata, ttlMs }): Promise<SessionRecord> {
      const id = newSessionId();
      const at = now();
      insert.run({
        keyId,
        id,
        metadata: metadata ? JSON.stringify(metadata) : null,
        now: at,
        expiresAt: at + ttlMs,
        token: null,
        lockUntil: null,
      });
      return toSessionRecord(byId.get(keyId, id)!);
    },

    async get(keyId, id) {
      const row = live(byId.get(keyId, id), now());
      return row ? toSessionRecord(row) : undefined;
    },

    async messages(keyId, id) {
      return live(byId.get(keyId, id), now()) ? messagesOf(keyId, id) : [];
    },

    async list({ keyId, limit, after }) {
      const clauses = ["expires_at > @now"];
      const params: Record<string, unknown> = { now: now(), limit: limit + 1 };
      if (keyId !== undefined) {
        clauses.push("key_id = @keyId");
        params["keyId"] = keyId;
      }
      if (after) {
        clauses.push("(created_at, key_id, id) < (@afterCreated, @afterKey, @afterId)");
        Object.assign(params, { afterCreated: after.createdAt, afterKey: after.keyId, afterId: after.id });
      }
      const rows = db
        .prepare<Record<string, unknown>, SessionRow>(
          `SELECT ${SESSION_COLUMNS} FROM sessions WHERE ${clauses.join(" AND ")}
           ORDER BY created_at DESC, key_id DESC, id DESC LIMIT @limit`,
        )
        .all(params);
      return { data: rows.slice(0, limit).map(toSessionRecord), hasMore: rows.length > limit };
    },

    async delete(keyId, id) {
      return remove.run(keyId, id, now()).changes > 0;
    },

    async begin({ keyId, id, ttlMs, lease }) {
      return begin.immediate(keyId, id, ttlMs, lease.token, lease.ms);
    },

    async renew(keyId, id, lease) {
      return renewLock.run({ keyId, id, token: lease.token, lockUntil: now() + lease.ms }).changes > 0;
    },

    async commit(turn) {
      return commit.immediate(turn);
    },

    async release(keyId, id, token) {
      unlock.run(keyId, id, token);
    },

    async sweep(batchSize) {
      const at = now();
      return removeExpired.run(at, at, batchSize).changes;
    },
  };
}
