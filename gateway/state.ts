import type { ModelPool } from "./routing/replicaPool.ts";

/** The routed request: which pool serves it and the parsed body that will be forwarded. */
export interface RouteState {
  /** The name the client sent (id or alias). */
  requested: string;
  pool: ModelPool;
  body: Record<string, unknown>;
}

/** What middleware put on `ctx.state`, in request-path order. */
export interface GatewayState {
  requestId: string;
  startedAt: number;
  /** Parsed JSON body, set by the body middleware. */
  body?: unknown;
  sessionId?: string | undefined;
  route?: RouteState;
  /** Headers every response must carry (rate-limit headers, for one). */
  responseHeaders: Record<string, string>;
}
