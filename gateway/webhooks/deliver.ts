/**
 * One delivery attempt: sign the payload (Standard Webhooks, the `standardwebhooks`
 * library) and POST it through the guarded Agent. Only a 2xx counts; a 3xx is not followed
 * and fails the attempt like any other status.
 */
import { Webhook } from "standardwebhooks";
import { type Dispatcher, request, errors as undiciErrors } from "undici";
import type { ClaimedDelivery } from "../store/index.ts";
import { WebhookUrlRefused } from "./ssrf/guard.ts";

export interface AttemptResult {
  ok: boolean;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

/** Bytes of a receiver's answer we read (then drop): the status is what matters. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The Standard Webhooks headers for one attempt; one signature per valid secret, space-separated. */
export function signedHeaders(d: Pick<ClaimedDelivery, "eventId" | "payload" | "secrets">, at: Date) {
  return {
    "content-type": "application/json",
    "user-agent": "Gonka-Webhooks/1",
    "webhook-id": d.eventId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": d.secrets.map((s) => new Webhook(s).sign(d.eventId, at, d.payload)).join(" "),
  };
}

export async function attemptDelivery(
  d: ClaimedDelivery,
  opts: { dispatcher: Dispatcher; timeoutMs: number; allowHttp: boolean },
): Promise<AttemptResult> {
  const startedAt = Date.now();
  const began = performance.now();
  const done = (statusCode: number | null, error: string | null): AttemptResult => ({
    ok: error === null,
    startedAt,
    durationMs: Math.round((performance.now() - began) * 10) / 10,
    statusCode,
    error,
  });
  // The config may have changed since the endpoint was registered.
  if (new URL(d.url).protocol === "http:" && !opts.allowHttp)
    return done(null, "http URLs are no longer allowed");
  try {
    const res = await request(d.url, {
      method: "POST",
      body: d.payload,
      headers: signedHeaders(d, new Date()),
      dispatcher: opts.dispatcher,
      signal: AbortSignal.timeout(opts.timeoutMs),
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
    await res.body.dump({ limit: MAX_RESPONSE_BYTES }).catch(() => {});
    const code = res.statusCode;
    if (code >= 200 && code < 300) return done(code, null);
    if (code >= 300 && code < 400) {
      return done(
        code,
        `HTTP ${code}: redirects are not followed (Location: ${String(res.headers["location"] ?? "none").slice(0, 200)})`,
      );
    }
    return done(code, `HTTP ${code}`);
  } catch (err) {
    return done(null, describe(err, opts.timeoutMs));
  }
}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof WebhookUrlRefused) return `refused by the SSRF guard: ${err.message}`;
  const e = err as Error & { code?: string; cause?: unknown };
  if (
    e.name === "TimeoutError" ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError
  ) {
    return `timed out after ${timeoutMs} ms`;
  }
  if (e.cause instanceof WebhookUrlRefused) return `refused by the SSRF guard: ${e.cause.message}`;
  return `${e.code ? `${e.code}: ` : ""}${e.message}`.slice(0, 500);
}
