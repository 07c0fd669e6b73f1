/**
 * The memory API's input checks: each failure is a 400 naming the field, raised before
 * anything is embedded or stored.
 */
import type { MemoryConfig } from "../config/schema.ts";
import { errors } from "../errors.ts";
import { type MemoryFilter, parseFilter } from "./filter.ts";

/** Namespaces and item keys: 1–128 characters of letters, digits and `._:-` (URL-safe as they are). */
export const NAME = /^[A-Za-z0-9._:-]{1,128}$/;
/** Ten years: longer is a mistake more often than an intention. */
export const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;
export const MAX_TOP_K = 100;
export const MAX_LIST_LIMIT = 100;

export function checkName(value: string | undefined, param: "namespace" | "key"): string {
  if (value === undefined || !NAME.test(value)) {
    throw errors.invalidRequest(
      `\`${param}\` must be 1–128 characters of letters, digits, \`.\`, \`_\`, \`:\` or \`-\`.`,
      param,
      `invalid_${param}`,
    );
  }
  return value;
}

function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw errors.invalidRequest("The request body must be a JSON object.");
  }
  return body as Record<string, unknown>;
}

function unknownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(body).find((k) => !allowed.includes(k));
  if (extra !== undefined) {
    throw errors.invalidRequest(`Unknown field \`${extra}\` (expected ${allowed.join(", ")}).`, extra);
  }
}

export interface PutInput {
  value: string;
  metadata: Record<string, unknown>;
  ttlSeconds: number | null;
}

export function parsePut(raw: unknown, quota: MemoryConfig["defaultQuota"]): PutInput {
  const body = object(raw);
  unknownFields(body, ["value", "metadata", "ttl_seconds"]);
  const { value, metadata = {}, ttl_seconds: ttl = null } = body;
  if (typeof value !== "string" || value.trim().length === 0) {
    throw errors.invalidRequest("`value` must be a non-empty string (the text that is embedded).", "value");
  }
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw errors.invalidRequest("`metadata` must be a JSON object.", "metadata");
  }
  if (
    ttl !== null &&
    (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS)
  ) {
    throw errors.invalidRequest(
      `\`ttl_seconds\` must be an integer from 1 to ${MAX_TTL_SECONDS}.`,
      "ttl_seconds",
    );
  }
  const bytes = Buffer.byteLength(value) + Buffer.byteLength(JSON.stringify(metadata));
  if (bytes > quota.bytesPerItem) {
    throw errors.invalidRequest(
      `The item is ${bytes} bytes (value plus JSON metadata); your tier allows ${quota.bytesPerItem} bytes per item.`,
      "value",
      "memory_item_too_large",
    );
  }
  return { value, metadata: metadata as Record<string, unknown>, ttlSeconds: ttl as number | null };
}

export interface SearchInput {
  query: string;
  topK: number;
  filter: MemoryFilter;
}

export function parseSearch(raw: unknown): SearchInput {
  const body = object(raw);
  unknownFields(body, ["query", "top_k", "filter"]);
  const { query, top_k: topK = 10, filter } = body;
  if (typeof query !== "string" || query.trim().length === 0) {
    throw errors.invalidRequest("`query` must be a non-empty string.", "query");
  }
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) {
    throw errors.invalidRequest(`\`top_k\` must be an integer from 1 to ${MAX_TOP_K}.`, "top_k");
  }
  return { query, topK, filter: parseFilter(filter) };
}

export function parseListQuery(query: Record<string, string | string[] | undefined>): {
  limit: number;
  after: string | undefined;
} {
  const rawLimit = query["limit"];
  const limit = rawLimit === undefined ? 20 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw errors.invalidRequest(`\`limit\` must be an integer from 1 to ${MAX_LIST_LIMIT}.`, "limit");
  }
  const after = query["after"];
  if (after !== undefined && (typeof after !== "string" || !NAME.test(after))) {
    throw errors.invalidRequest("`after` must be a `next_cursor` from a previous page.", "after");
  }
  return { limit, after };
}
