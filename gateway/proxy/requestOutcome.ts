import { type Endpoint, newOutcome, type OutcomeSink, type RequestOutcome } from "../outcome.ts";
import type { GatewayState } from "../state.ts";

/** A request's outcome and the one call that finishes it. */
export interface OutcomeRecorder {
  readonly outcome: RequestOutcome;
  /**
   * Sets the final status and hands the outcome to metering, once (later calls are
   * ignored). Callers record before the response's last bytes, so a usage row exists
   * for every answer a client has received.
   */
  record(status: number, code: string | null): void;
}

export function startOutcome(
  state: GatewayState,
  endpoint: Endpoint,
  streamed: boolean,
  sink: OutcomeSink,
): OutcomeRecorder {
  const route = state.route!;
  const outcome = newOutcome({
    requestId: state.requestId,
    clientRequestId: state.clientRequestId ?? null,
    endpoint,
    modelRequested: route.requested,
    modelServed: route.pool.model.id,
    route: route.tiering?.rule ?? null,
    sessionId: state.sessionId ?? null,
    keyId: state.key?.id ?? null,
    tier: state.key?.tier ?? null,
    streamed,
  });
  let recorded = false;
  return {
    outcome,
    record(status, code) {
      if (recorded) return;
      recorded = true;
      outcome.status = status;
      outcome.errorCode = code;
      outcome.latencyMs = Date.now() - state.startedAt;
      // Admission reads it to settle the rate-limit reservation.
      state.outcome = outcome;
      sink(outcome);
    },
  };
}
