/** Token counts read from the backend's usage object. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
}

export type Endpoint = "chat.completions" | "completions" | "embeddings" | "responses";

/** Everything known about a proxied request when it finishes; metering and logs read it. */
export interface RequestOutcome {
  /** The gateway's own id (the usage row's identity). */
  requestId: string;
  clientRequestId: string | null;
  endpoint: Endpoint;
  modelRequested: string;
  modelServed: string | null;
  /** Tiering: the router rule that chose `modelServed` when `modelRequested` is a router alias. */
  route: string | null;
  replica: string | null;
  sessionId: string | null;
  keyId: string | null;
  tier: string | null;
  status: number;
  streamed: boolean;
  clientAborted: boolean;
  usage: TokenUsage | null;
  /** Streams: time to the first event. Null for non-streamed answers, which arrive whole. */
  ttftMs: number | null;
  latencyMs: number;
  errorCode: string | null;
}

/**
 * A request's outcome before it has one: who asked, for what, served by whom; the rest
 * (status, usage, timing) is filled in as the request goes.
 */
export function newOutcome(
  init: Pick<RequestOutcome, "requestId" | "endpoint" | "modelRequested" | "modelServed" | "streamed"> &
    Partial<RequestOutcome>,
): RequestOutcome {
  return {
    clientRequestId: null,
    route: null,
    replica: null,
    sessionId: null,
    keyId: null,
    tier: null,
    status: 0,
    clientAborted: false,
    usage: null,
    ttftMs: null,
    latencyMs: 0,
    errorCode: null,
    ...init,
  };
}

/**
 * Called exactly once per proxied request, synchronously, before the last byte of
 * the response is written: a usage row recorded here survives a crash right after
 * the client saw the response.
 */
export type OutcomeSink = (outcome: RequestOutcome) => void;

export function usageFromOpenAI(usage: unknown): TokenUsage | null {
  if (!usage || typeof usage !== "object") return null;
  const u = usage as Record<string, unknown>;
  // The Responses API names them input/output tokens.
  if ("input_tokens" in u || "output_tokens" in u) {
    const out = (u["output_tokens_details"] ?? {}) as Record<string, unknown>;
    const input = (u["input_tokens_details"] ?? {}) as Record<string, unknown>;
    return {
      promptTokens: num(u["input_tokens"]),
      completionTokens: num(u["output_tokens"]),
      reasoningTokens: num(out?.["reasoning_tokens"]),
      cachedTokens: num(input?.["cached_tokens"]),
    };
  }
  const details = (u["completion_tokens_details"] ?? {}) as Record<string, unknown>;
  const promptDetails = (u["prompt_tokens_details"] ?? {}) as Record<string, unknown>;
  return {
    promptTokens: num(u["prompt_tokens"]),
    completionTokens: num(u["completion_tokens"]),
    reasoningTokens: num(details?.["reasoning_tokens"]),
    cachedTokens: num(promptDetails?.["cached_tokens"]),
  };
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}
