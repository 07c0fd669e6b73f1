import type { RequestOutcome } from "./outcome.ts";
import type { ModelPool } from "./routing/replicaPool.ts";
import type { KeyRecord } from "./store/index.ts";

/** The routed request: which pool serves it and the parsed body that will be forwarded. */
export interface RouteState {
  /** The name the client sent (id or alias). */
  requested: string;
  pool: ModelPool;
  body: Record<string, unknown>;
  /** Tiering: tried in order when `pool` cannot serve before the first byte (router aliases only). */
  fallbacks?: ModelPool[];
  /** Tiering: the router alias and the rule that chose `pool`. */
  tiering?: {
    router: string;
    rule: string;
    classifier: string | null;
    /** Called with the model that answered, so the session stays on it. */
    onServed?: (modelId: string) => void;
  };
}

/**
 * Sees a chat answer on its way to the client (the session step stores the turn). The
 * relays call `finish` before the response's last bytes, only for a complete, successful
 * answer; when it rejects, the client gets that error instead of the end of the answer.
 */
export interface ReplyObserver {
  /** Streams: every event (parsed, after reasoning normalisation), before it is written. */
  event(event: Record<string, unknown>): void;
  /**
   * The non-streamed body, or undefined for a stream (its events came through `event`).
   * May resolve to the body to send instead (the Responses state step's own response id).
   */
  finish(json: Record<string, unknown> | undefined): Promise<Record<string, unknown> | undefined>;
  /** The Responses state step's id for the response it will keep (a translation names it so). */
  readonly responseId?: string;
}

/** What middleware put on `ctx.state`, in request-path order. */
export interface GatewayState {
  /** The gateway's own id for this request. */
  requestId: string;
  /** The client's `x-request-id`, when it sent a sane one; echoed back, stored beside ours. */
  clientRequestId?: string | undefined;
  startedAt: number;
  /** Parsed JSON body, set by the body middleware. */
  body?: unknown;
  /** The body's bytes as received, forwarded as they are when nothing needs changing. */
  rawBody?: Buffer;
  /** The caller's API key, set by authentication. */
  key?: KeyRecord;
  sessionId?: string | undefined;
  route?: RouteState;
  /** Set by the session step on a chat request carrying X-Session-Id. */
  replyObserver?: ReplyObserver;
  /** Set by the proxy when the request is over; read by admission to settle the reservation. */
  outcome?: RequestOutcome;
  /** Set when the request was queued as an async job: admission keeps its token estimate charged. */
  reservationKept?: boolean;
  /** Headers every response must carry (rate-limit headers, for one). */
  responseHeaders: Record<string, string>;
}
