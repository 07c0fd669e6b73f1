/** Test helpers for the store: a temp data folder that is removed afterwards. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { UsageRow } from "./usage.ts";

export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gonka-store-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

let sequence = 0;

/** A plausible finished chat request; override what the test cares about. */
export function usageRow(overrides: Partial<UsageRow> = {}): UsageRow {
  sequence += 1;
  return {
    requestId: `req_${process.pid}_${sequence}`,
    clientRequestId: null,
    ts: Date.UTC(2025, 0, 31, 13, 45),
    keyId: "key_a",
    tier: "standard",
    modelRequested: "kimi-k2.5",
    modelServed: "kimi-k2.5",
    route: null,
    replica: "r1",
    sessionId: null,
    endpoint: "chat.completions",
    promptTokens: 100,
    completionTokens: 20,
    reasoningTokens: 5,
    cachedTokens: 0,
    ttftMs: 50,
    latencyMs: 400,
    status: 200,
    streamed: true,
    clientAborted: false,
    errorCode: null,
    ...overrides,
  };
}
