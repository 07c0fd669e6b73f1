/**
 * Wire shapes of sessions (snake_case, unix seconds, like the rest of the API) and the
 * list queries and cursors shared by the public and the admin routes.
 */
import { z } from "zod";
import { parseOr400 } from "../admin/validate.ts";
import { errors } from "../errors.ts";
import type { SessionCursor, SessionRecord, StoredMessage } from "../store/index.ts";

const seconds = (ms: number) => Math.floor(ms / 1000);

export function sessionObject(
  s: SessionRecord,
  opts: { withKey?: boolean; messages?: StoredMessage[] } = {},
) {
  return {
    id: s.id,
    object: "session",
    ...(opts.withKey ? { key_id: s.keyId } : {}),
    created_at: seconds(s.createdAt),
    last_active_at: seconds(s.lastActiveAt),
    expires_at: seconds(s.expiresAt),
    metadata: s.metadata,
    message_count: s.messageCount,
    bytes: s.bytes,
    usage: {
      requests: s.usage.requests,
      prompt_tokens: s.usage.promptTokens,
      completion_tokens: s.usage.completionTokens,
      reasoning_tokens: s.usage.reasoningTokens,
      cached_tokens: s.usage.cachedTokens,
    },
    ...(opts.messages ? { messages: opts.messages } : {}),
  };
}

/**
 * `next_cursor`: where the next page starts, opaque to clients (base64url JSON). A public
 * cursor names no key (the caller's own is implied); an admin cursor does.
 */
export function encodeCursor(s: SessionRecord, withKey: boolean): string {
  const parts = withKey ? [s.createdAt, s.id, s.keyId] : [s.createdAt, s.id];
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}

function decodeCursor(cursor: string, keyId: string | undefined): SessionCursor {
  try {
    const parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    const [createdAt, id, key] = parts;
    const owner = keyId ?? key;
    if (typeof createdAt === "number" && typeof id === "string" && typeof owner === "string") {
      return { createdAt, id, keyId: owner };
    }
  } catch {}
  throw errors.invalidRequest(
    "`after` must be a `next_cursor` from a previous page of this listing.",
    "after",
    "invalid_cursor",
  );
}

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  after: z.string().min(1).max(500).optional(),
  key_id: z.string().min(1).max(200).optional(),
});

const HELP = {
  limit: "`limit` must be an integer from 1 to 100 (default 20).",
  after: "`after` must be a `next_cursor` from a previous page.",
  key_id: "`key_id` must be a key id.",
};

/** `?limit=&after=` (and, for admins, `key_id=`); `keyId` is the caller's key on the public API. */
export function parseListQuery(
  query: Record<string, unknown>,
  keyId: string | undefined,
): { limit: number; after?: SessionCursor; keyId?: string } {
  const q = parseOr400(
    keyId === undefined ? listQuery : listQuery.omit({ key_id: true }),
    query,
    "invalid_list_query",
    keyId === undefined ? HELP : { limit: HELP.limit, after: HELP.after },
    "parameter",
  );
  const owner = keyId ?? (q as { key_id?: string }).key_id;
  return {
    limit: q.limit ?? 20,
    ...(q.after ? { after: decodeCursor(q.after, keyId) } : {}),
    ...(owner !== undefined ? { keyId: owner } : {}),
  };
}

export function listObject(page: { data: SessionRecord[]; hasMore: boolean }, withKey: boolean) {
  const last = page.data.at(-1);
  return {
    object: "list",
    data: page.data.map((s) => sessionObject(s, { withKey })),
    has_more: page.hasMore,
    next_cursor: page.hasMore && last ? encodeCursor(last, withKey) : null,
  };
}
