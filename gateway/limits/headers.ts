/** The `x-ratelimit-*` headers, in OpenAI's names and formats, for 429s and successes alike. */

/**
 * A duration the way OpenAI's reset headers show it (Go's time.Duration style):
 * under a second in ms (`"250ms"`), otherwise whole seconds rounded up: `"1s"`, `"59s"`,
 * `"6m0s"`, `"1h0m0s"`.
 */
export function formatReset(ms: number): string {
  if (ms <= 0) return "0s";
  if (ms < 1_000) return `${Math.ceil(ms)}ms`;
  const total = Math.ceil(ms / 1_000);
  const h = Math.floor(total / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Whole seconds, at least 1, for `retry-after`. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1_000)));
}

export interface WindowState {
  limit: number;
  used: number;
  msBeforeReset: number;
}

export function rateLimitHeaders(
  requests: WindowState,
  tokens: WindowState | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    "x-ratelimit-limit-requests": String(requests.limit),
    "x-ratelimit-remaining-requests": String(Math.max(0, requests.limit - requests.used)),
    "x-ratelimit-reset-requests": formatReset(requests.msBeforeReset),
  };
  if (tokens) {
    headers["x-ratelimit-limit-tokens"] = String(tokens.limit);
    headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, tokens.limit - tokens.used));
    headers["x-ratelimit-reset-tokens"] = formatReset(tokens.msBeforeReset);
  }
  return headers;
}
