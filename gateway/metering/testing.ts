import type { UsageRow } from "../store/index.ts";

export function usageRow(requestId: string, overrides: Partial<UsageRow> = {}): UsageRow {
  return {
    requestId,
    ts: Date.now(),
    keyId: "key_test",
    tier: "standard",
    modelRequested: "kimi",
    modelServed: "kimi-k2.5",
    replica: "kimi-k2.5-0",
    sessionId: null,
    endpoint: "chat.completions",
    promptTokens: 10,
    completionTokens: 5,
    reasoningTokens: 0,
    cachedTokens: 0,
    ttftMs: null,
    latencyMs: 12,
    status: 200,
    streamed: false,
    clientAborted: false,
    errorCode: null,
    ...overrides,
  };
}
