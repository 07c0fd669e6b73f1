/**
 * Stored responses as gateway sessions. A response chain (a first response and the ones that
 * continue it with `previous_response_id`) is one session of the key that created it: one
 * store, one TTL (the tier's session TTL, sliding), one usage view (the session's usage and the
 * usage rows' `session_id`). Each stored response is one entry in the session's message list:
 *
 *   { object: "gonka.response", id, input: [request's input items], prefix?: [items], response }
 *
 * Entries only ever append, so a chain's context is the concatenation of each entry's input and
 * its response's output. A continuation of an older response (a fork), or of one whose session
 * is busy with another turn, starts a new session whose first entry carries the context before
 * it as `prefix`. The response id names its session (`resp_<session hex>_<random>`), so a
 * lookup is one session read, owned by the key: another key's response is not found.
 */
import { randomBytes } from "node:crypto";
import { GatewayError } from "../errors.ts";
import type { SessionRepository, StoredMessage } from "../store/index.ts";

export const ENTRY_OBJECT = "gonka.response";

export interface ResponseEntry {
  object: typeof ENTRY_OBJECT;
  id: string;
  input: Record<string, unknown>[];
  prefix?: Record<string, unknown>[];
  /** The Response object as the client received it; null once deleted (kept for its chain). */
  response: Record<string, unknown> | null;
}

const RESPONSE_ID = /^resp_([0-9a-f]{24})_[0-9a-f]{16}$/;

export function newChainId(): string {
  return `sess_${randomBytes(12).toString("hex")}`;
}

/** A new response id in the chain session `sessionId` (a `sess_<24 hex>` id). */
export function newResponseId(sessionId: string): string {
  return `resp_${sessionId.slice(5)}_${randomBytes(8).toString("hex")}`;
}

export function chainOf(responseId: string): string | undefined {
  const m = RESPONSE_ID.exec(responseId);
  return m ? `sess_${m[1]}` : undefined;
}

export function notFound(id: string, param: string | null = null): GatewayError {
  return new GatewayError({
    status: 404,
    type: "invalid_request_error",
    code: "response_not_found",
    param,
    message: `Response with id '${id}' not found.`,
  });
}

/** The input as a list of items: a string input is one user message. */
export function inputItems(input: unknown): Record<string, unknown>[] {
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  return (input as Record<string, unknown>[]).map((i) => ({ ...i }));
}

export interface Located {
  sessionId: string;
  entries: ResponseEntry[];
  index: number;
}

/** The live entry of `id` owned by `keyId` (deleted ones are not found). */
export async function locate(
  repo: SessionRepository,
  keyId: string,
  id: string,
): Promise<Located | undefined> {
  const sessionId = chainOf(id);
  if (!sessionId) return undefined;
  const entries = (await repo.messages(keyId, sessionId)).filter(isEntry);
  const index = entries.findIndex((e) => e.id === id);
  if (index < 0 || entries[index]!.response === null) return undefined;
  return { sessionId, entries, index };
}

export function isEntry(m: StoredMessage): m is StoredMessage & ResponseEntry {
  return m["object"] === ENTRY_OBJECT && typeof m["id"] === "string";
}

/** Everything the model saw and said up to and including entry `index`, as input items. */
export function contextThrough(entries: readonly ResponseEntry[], index: number): Record<string, unknown>[] {
  const items = [...(entries[0]?.prefix ?? [])];
  for (let i = 0; i <= index; i++) {
    const e = entries[i]!;
    items.push(...e.input);
    const output = (e.response?.["output"] ?? (e as { output?: unknown }).output ?? []) as Record<
      string,
      unknown
    >[];
    items.push(...output);
  }
  return items;
}
