/**
 * Server-side conversation sessions (AGNT-01, AGNT-06): the records callers see, the
 * repository every dialect implements, and the dialect-free parts. SQL lives in
 * `sqlite/sqliteSessions.ts` and `postgres/postgresSessions.ts`; the contract suite
 * (sessions.contract.test.ts) runs against both.
 *
 * A session belongs to the API key that created it: it is stored under (key id, session id),
 * so two keys using the same `X-Session-Id` have two sessions and never see each other's.
 */
import { randomBytes } from "node:crypto";
import { Conflict, NotFound } from "./errors.ts";

/** One OpenAI chat message, stored as the JSON it was sent or answered as. */
export type StoredMessage = Record<string, unknown>;

export interface SessionUsage {
  /** Turns stored (successful requests on the session). */
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
}

export interface SessionRecord {
  keyId: string;
  id: string;
  metadata: Record<string, unknown> | null;
  /** Milliseconds since the epoch, like every time in the store. */
  createdAt: number;
  lastActiveAt: number;
  /** Sliding: last activity + the owner's tier TTL. */
  expiresAt: number;
  messageCount: number;
  /** Sum of the stored messages' JSON sizes. */
  bytes: number;
  usage: SessionUsage;
}

/** Where a listing continues: the last item of the previous page (newest first). */
export interface SessionCursor {
  createdAt: number;
  keyId: string;
  id: string;
}

/** The lock a request holds on its session while it runs (see begin). */
export interface SessionLease {
  /** Unique per request (the gateway's request id). */
  token: string;
  /** How long the lock lasts unless renewed: a crashed gateway's lock lapses after this. */
  ms: number;
}

export interface SessionTurn {
  keyId: string;
  id: string;
  /** The lease token begin() was given. */
  token: string;
  /** Stored messages kept (a prefix); later ones are replaced (a fork). */
  keep: number;
  /** Messages added after the kept prefix: the client's new messages and the reply. */
  append: StoredMessage[];
  usage: {
    promptTokens: number;
    completionTokens: number;
    reasoningTokens: number;
    cachedTokens: number;
  } | null;
  ttlMs: number;
}

export interface SessionRepository {
  /** A new, empty session with a generated id (`sess_…`). */
  create(input: {
    keyId: string;
    metadata?: Record<string, unknown> | null;
    ttlMs: number;
  }): Promise<SessionRecord>;
  /** The live session, or undefined when unknown, owned by another key, or expired. */
  get(keyId: string, id: string): Promise<SessionRecord | undefined>;
  /** The live session's messages in order (empty when it does not exist). */
  messages(keyId: string, id: string): Promise<StoredMessage[]>;
  /** Live sessions, newest first; every key's when `keyId` is not given (admin). */
  list(query: {
    keyId?: string;
    limit: number;
    after?: SessionCursor;
  }): Promise<{ data: SessionRecord[]; hasMore: boolean }>;
  /** Removes the session and its messages; false when there was no live one. */
  delete(keyId: string, id: string): Promise<boolean>;
  /**
   * Starts a turn: takes the session's lock for `lease.ms` and returns its history. Creates
   * the session when it does not exist; an expired one starts over empty, as new. Throws
   * Conflict (`session_busy`) while another request holds the lock.
   */
  begin(input: {
    keyId: string;
    id: string;
    ttlMs: number;
    lease: SessionLease;
  }): Promise<{ session: SessionRecord; messages: StoredMessage[] }>;
  /** Extends a held lock; false when it is no longer this token's. */
  renew(keyId: string, id: string, lease: SessionLease): Promise<boolean>;
  /**
   * Stores a finished turn and releases the lock, in one transaction. Throws Conflict when
   * the lock is no longer this token's (it lapsed and another request took it, or the
   * session was deleted meanwhile): nothing is written then.
   */
  commit(turn: SessionTurn): Promise<SessionRecord>;
  /** Releases the lock without storing anything (a failed or aborted turn). */
  release(keyId: string, id: string, token: string): Promise<void>;
  /**
   * Deletes up to `batchSize` expired, unlocked sessions with their messages, in one short
   * transaction; returns how many. Safe to run from several gateways at once.
   */
  sweep(batchSize: number): Promise<number>;
}

export function newSessionId(): string {
  return `sess_${randomBytes(12).toString("hex")}`;
}

export function sessionNotFound(id: string): NotFound {
  return new NotFound("session_not_found", "session_id", `No session with id \`${id}\`.`);
}

export function sessionBusy(id: string): Conflict {
  return new Conflict(
    "session_busy",
    null,
    `Another request on session \`${id}\` is still running; the gateway does not interleave turns of one session. Send this turn again once that request has finished.`,
  );
}

export function lockLost(id: string): Conflict {
  return new Conflict(
    "session_changed",
    null,
    `Session \`${id}\` was deleted or taken over by another request while this one ran; this turn was not stored.`,
  );
}

/** The stored form of a message: its JSON, and the size counted against the byte cap. */
export function encodeMessage(message: StoredMessage): { json: string; bytes: number } {
  const json = JSON.stringify(message);
  return { json, bytes: Buffer.byteLength(json) };
}

export const emptyUsage = (): SessionUsage => ({
  requests: 0,
  promptTokens: 0,
  completionTokens: 0,
  reasoningTokens: 0,
  cachedTokens: 0,
});

/** Columns both dialects select, and the row → record mapping they share. */
export const SESSION_COLUMNS =
  "key_id, id, metadata, created_at, last_active_at, expires_at, message_count, bytes, requests, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens";

export interface SessionRow {
  key_id: string;
  id: string;
  metadata: string | null;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  message_count: number;
  bytes: number;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
}

/** A session row with its turn lock (lease), as the dialects read it to take or check the lock. */
export interface SessionLockRow extends SessionRow {
  lock_token: string | null;
  lock_until: number | null;
}

export function toSessionRecord(row: SessionRow): SessionRecord {
  return {
    keyId: row.key_id,
    id: row.id,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    expiresAt: row.expires_at,
    messageCount: row.message_count,
    bytes: row.bytes,
    usage: {
      requests: row.requests,
      promptTokens: row.prompt_tokens,
      completionTokens: row.completion_tokens,
      reasoningTokens: row.reasoning_tokens,
      cachedTokens: row.cached_tokens,
    },
  };
}
