/** The `webhooks` section of the gateway config. */
import { z } from "zod";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const webhooksSchema = z.object({
  /** Accept `http:` endpoint URLs too; `https:` only by default. */
  allowHttp: z.boolean().default(false),
  /**
   * Hosts and CIDR ranges webhooks may reach although they are not public (`127.0.0.1/32`,
   * `hooks.internal.example`). Empty by default, in the local stack too.
   * `GONKA_WEBHOOK_ALLOWLIST` (comma-separated) replaces it when set.
   */
  allowlist: z.array(z.string()).default([]),
  /** One delivery attempt's deadline (connect, send, the receiver's answer). */
  timeoutMs: z
    .number()
    .int()
    .positive()
    .default(10 * SECOND),
  /**
   * Waits before each retry after a failed attempt: the schedule's length is the number of
   * retries, then the delivery is `failed` (a redeliver starts the schedule again).
   */
  retryDelaysMs: z
    .array(z.number().int().nonnegative())
    .default([5 * SECOND, 30 * SECOND, 2 * MINUTE, 10 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR]),
  /** Each wait is scaled by a random factor in [1 − jitter, 1 + jitter], so retries do not stampede. */
  jitter: z.number().min(0).max(1).default(0.2),
  /** A job object larger than this (JSON bytes) is sent as a link to `GET /v1/jobs/{id}` instead. */
  maxPayloadBytes: z
    .number()
    .int()
    .positive()
    .default(256 * 1024),
  /** How often each gateway looks for due deliveries (an emit on this gateway wakes it at once). */
  pollIntervalMs: z
    .number()
    .int()
    .positive()
    .default(1 * SECOND),
  /** Deliveries one gateway sends at once. */
  concurrency: z.number().int().positive().default(16),
  /** The old secret keeps signing this long after a rotation (both signatures are sent). */
  secretGraceSeconds: z
    .number()
    .int()
    .nonnegative()
    .default(24 * 60 * 60),
  /** Succeeded and failed deliveries (with their attempt logs) are deleted this long after their last attempt. */
  retentionDays: z.number().positive().default(30),
  /** How often each gateway deletes deliveries past retention (batches of 500). */
  sweepIntervalMs: z.number().int().positive().default(HOUR),
  /** Most endpoints one API key may register. */
  maxEndpointsPerKey: z.number().int().positive().default(20),
});

export type WebhooksConfig = z.infer<typeof webhooksSchema>;

/** `GONKA_WEBHOOK_ALLOWLIST`: comma-separated hosts/CIDRs; undefined when unset. */
export function allowlistFromEnv(env: NodeJS.ProcessEnv): string[] | undefined {
  const raw = env["GONKA_WEBHOOK_ALLOWLIST"];
  return raw === undefined
    ? undefined
    : raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}
