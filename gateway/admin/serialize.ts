/**
 * The admin API's wire shapes: snake_case fields and unix-second timestamps, while the store
 * speaks camelCase and milliseconds. Nothing here ever reads or emits a secret hash.
 */
import type { TierConfig } from "../config/schema.ts";
import { type KeyRecord, keyState, type UsageSummaryRow } from "../store/index.ts";

export function toUnixSeconds(ms: number): number;
export function toUnixSeconds(ms: number | null): number | null;
export function toUnixSeconds(ms: number | null): number | null {
  return ms === null ? null : Math.floor(ms / 1000);
}

export interface KeyObject {
  id: string;
  object: "api_key";
  name: string;
  prefix: string;
  tier: string;
  models: string[] | null;
  status: "active" | "revoked" | "expired";
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export function keyObject(key: KeyRecord, now: number = Date.now()): KeyObject {
  return {
    id: key.id,
    object: "api_key",
    name: key.name,
    prefix: key.prefix,
    tier: key.tier,
    models: key.models,
    status: keyState(key, now),
    created_at: toUnixSeconds(key.createdAt),
    updated_at: toUnixSeconds(key.updatedAt),
    expires_at: toUnixSeconds(key.expiresAt),
    revoked_at: toUnixSeconds(key.revokedAt),
  };
}

export function tierObject(name: string, tier: TierConfig) {
  return {
    name,
    requests_per_minute: tier.requestsPerMinute,
    tokens_per_minute: tier.tokensPerMinute,
    concurrent_requests: tier.concurrentRequests,
    models: tier.models ?? null,
    session_ttl_seconds: tier.sessionTtlSeconds,
    session_max_messages: tier.sessionMaxMessages,
    session_max_bytes: tier.sessionMaxBytes,
  };
}

/** One usage summary row; group fields appear only when the query grouped by them. */
export function usageObject(row: UsageSummaryRow) {
  return {
    ...("keyId" in row ? { key_id: row.keyId ?? null } : {}),
    ...("model" in row ? { model: row.model } : {}),
    ...("sessionId" in row ? { session_id: row.sessionId ?? null } : {}),
    ...("period" in row ? { period: row.period } : {}),
    requests: row.requests,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    reasoning_tokens: row.reasoningTokens,
    cached_tokens: row.cachedTokens,
    total_tokens: row.totalTokens,
    errors: row.errors,
    aborted: row.aborted,
    latency_ms: row.latencyMs,
    ttft_ms: row.ttftMs,
  };
}
