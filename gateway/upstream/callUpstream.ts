import type { Dispatcher } from "undici";
import { errors, type GatewayError } from "../errors.ts";
import { pick } from "../routing/pick.ts";
import type { ModelPool, Replica } from "../routing/replicaPool.ts";

export interface UpstreamRequest {
  readonly pool: ModelPool;
  readonly path: string;
  readonly body: string | Buffer;
  readonly requestId: string;
  readonly sessionId?: string | undefined;
  readonly signal: AbortSignal;
  readonly cooldownMs: number;
}

export interface UpstreamResponse {
  readonly replica: Replica;
  readonly statusCode: number;
  readonly body: Dispatcher.ResponseData["body"];
  /** Frees the replica's outstanding slot; call once when the body is consumed or abandoned. */
  release(): void;
}

/**
 * Sends a request to one of the model's replicas. Connection failures, first-byte
 * timeouts and 5xx answers are retried on another replica (nothing has reached the
 * client yet); the failing replica is taken out of rotation for a cool-down.
 */
export async function callUpstream(req: UpstreamRequest): Promise<UpstreamResponse> {
  const { pool, signal } = req;
  const { timeouts, maxRetries } = pool.model;
  const tried = new Set<string>();
  let lastError: GatewayError | undefined;
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    const choice = pick(pool.snapshots(), { sessionId: req.sessionId, exclude: tried });
    if (!choice) break;
    const replica = pool.get(choice.id)!;
    tried.add(replica.id);
    replica.outstanding++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      replica.outstanding--;
    };
    try {
      const res = await replica.pool.request({
        method: "POST",
        path: req.path,
        headers: { "content-type": "application/json", "x-request-id": req.requestId },
        body: req.body,
        signal,
        headersTimeout: timeouts.firstByteMs,
        bodyTimeout: timeouts.idleMs,
      });
      if (res.statusCode >= 500 && attempt < maxRetries) {
        const detail = await res.body.text().catch(() => "");
        release();
        replica.markFailed(`HTTP ${res.statusCode}: ${detail.slice(0, 200)}`, req.cooldownMs, "unhealthy");
        lastError = errors.upstreamFailed(`Backend ${replica.id} answered ${res.statusCode}.`);
        continue;
      }
      if (res.statusCode >= 500) replica.markFailed(`HTTP ${res.statusCode}`, req.cooldownMs, "unhealthy");
      return { replica, statusCode: res.statusCode, body: res.body, release };
    } catch (err) {
      release();
      if (signal.aborted) throw err;
      const code = (err as { code?: string }).code;
      if (code === "UND_ERR_HEADERS_TIMEOUT") {
        replica.markFailed("first-byte timeout", req.cooldownMs, "unhealthy");
        lastError = errors.upstreamTimeout(
          `Backend for \`${pool.model.id}\` sent nothing within ${timeouts.firstByteMs} ms.`,
        );
      } else {
        replica.markFailed((err as Error).message, req.cooldownMs, "unreachable");
        lastError = errors.upstreamFailed(`Could not reach a backend for \`${pool.model.id}\`.`, err);
      }
    }
  }
  throw lastError ?? errors.noHealthyReplica(pool.model.id);
}
