import type { Dispatcher } from "undici";
import { generationTimeoutMs } from "../config/schema.ts";
import { errors, type GatewayError } from "../errors.ts";
import { pick } from "../routing/pick.ts";
import type { ModelPool, Replica } from "../routing/replicaPool.ts";
import { isCancelled, type UpstreamSignal } from "./cancellation.ts";
import { fromUpstreamError } from "./upstreamError.ts";

export interface UpstreamRequest {
  readonly pool: ModelPool;
  readonly path: string;
  readonly body: string | Buffer;
  /** Streamed answers send headers at once; non-streamed ones only when generation is over. */
  readonly stream: boolean;
  readonly requestId: string;
  readonly sessionId?: string | undefined;
  readonly signal: UpstreamSignal;
  readonly cooldownMs: number;
  /** Sent as `Authorization: Bearer …` to engines started with an API key (never the client's). */
  readonly engineApiKey?: string | undefined;
}

export interface UpstreamResponse {
  readonly replica: Replica;
  /** 200, or a 4xx the caller passes through; 5xx answers end as a thrown GatewayError. */
  readonly statusCode: number;
  readonly body: Dispatcher.ResponseData["body"];
  /** Frees the replica's outstanding slot; call once when the body is consumed or abandoned. */
  release(): void;
}

/** What one attempt on one replica came to. */
type Attempt = { response: UpstreamResponse } | { error: GatewayError; retry: boolean };

/**
 * Sends a request to one of the model's replicas. Connection failures, streamed
 * first-byte timeouts and 5xx answers are retried on another replica (nothing has
 * reached the client yet) and the failing replica sits out a cool-down. A
 * non-streamed request that outlives its generation budget is not retried: the
 * replica accepted it and was working on it, and a retry would double the GPU work.
 * When the attempts run out, the client gets the last replica's failure (a 503
 * stays a 503, with the engine's Retry-After).
 */
export async function callUpstream(req: UpstreamRequest): Promise<UpstreamResponse> {
  const { pool } = req;
  const tried = new Set<string>();
  let lastError: GatewayError | undefined;
  for (let attempt = 0; attempt <= pool.model.maxRetries; attempt++) {
    const choice = pick(pool.snapshots(), { sessionId: req.sessionId, exclude: tried });
    if (!choice) break;
    const replica = pool.get(choice.id)!;
    tried.add(replica.id);
    const result = await attemptOn(replica, req);
    if ("response" in result) return result.response;
    lastError = result.error;
    if (!result.retry) break;
  }
  if (lastError) throw lastError;
  throw pool.discovery?.synced === false
    ? errors.backendsNotDiscovered(pool.model.id)
    : errors.noHealthyReplica(pool.model.id);
}

async function attemptOn(replica: Replica, req: UpstreamRequest): Promise<Attempt> {
  const { model } = req.pool;
  replica.outstanding++;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    replica.outstanding--;
  };
  let res: Dispatcher.ResponseData;
  try {
    res = await send(replica, req);
  } catch (err) {
    release();
    if (isCancelled(req.signal)) throw err;
    const code = (err as { code?: string }).code;
    if (code === "UND_ERR_HEADERS_TIMEOUT" && !req.stream) {
      // The replica accepted the request and is still generating: a long answer, not a sick replica.
      return {
        retry: false,
        error: errors.upstreamTimeout(
          `The backend for \`${model.id}\` did not finish within ${generationTimeoutMs(model)} ms.`,
        ),
      };
    }
    if (code === "UND_ERR_HEADERS_TIMEOUT") {
      replica.markFailed("first-byte timeout", req.cooldownMs, "unhealthy");
      return {
        retry: true,
        error: errors.upstreamTimeout(
          `Backend for \`${model.id}\` sent nothing within ${model.timeouts.firstByteMs} ms.`,
        ),
      };
    }
    replica.markFailed((err as Error).message, req.cooldownMs, "unreachable");
    return {
      retry: true,
      error: errors.upstreamFailed(`Could not reach a backend for \`${model.id}\`.`, err),
    };
  }
  if (res.statusCode >= 500) {
    const detail = await res.body.text().catch(() => "");
    release();
    replica.markFailed(`HTTP ${res.statusCode}: ${detail.slice(0, 200)}`, req.cooldownMs, "unhealthy");
    return { retry: true, error: fromUpstreamError(res.statusCode, detail, res.headers["retry-after"]) };
  }
  return { response: { replica, statusCode: res.statusCode, body: res.body, release } };
}

/**
 * One request on the replica's keep-alive pool. An engine may close an idle pooled
 * connection just as we reuse it (uvicorn does after 5 s, without a Keep-Alive header to
 * warn us); the request then dies with a reset before any response byte. That says
 * nothing about the replica, so it is sent once more on a fresh connection.
 */
async function send(replica: Replica, req: UpstreamRequest): Promise<Dispatcher.ResponseData> {
  const { timeouts } = req.pool.model;
  const options: Dispatcher.RequestOptions = {
    method: "POST",
    path: req.path,
    headers: {
      "content-type": "application/json",
      "x-request-id": req.requestId,
      ...(req.engineApiKey ? { authorization: `Bearer ${req.engineApiKey}` } : {}),
    },
    body: req.body,
    signal: req.signal,
    headersTimeout: req.stream ? timeouts.firstByteMs : generationTimeoutMs(req.pool.model),
    bodyTimeout: timeouts.idleMs,
  };
  try {
    return await replica.pool.request(options);
  } catch (err) {
    if (isCancelled(req.signal) || !isStaleConnection(err)) throw err;
    return replica.pool.request(options);
  }
}

/** The peer closed or reset a connection before answering: what reusing a stale socket looks like. */
export function isStaleConnection(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}
