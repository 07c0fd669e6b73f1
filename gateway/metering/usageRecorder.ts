import type { Logger } from "pino";
import type { OutcomeSink } from "../outcome.ts";
import type { UsageLedger } from "../store/index.ts";

/**
 * Writes one usage row per finished request, synchronously, before the proxy sends
 * the response's last bytes: once a client has its answer, its row is in this process's
 * usage journal (usageJournal.ts), which survives any crash of the process; with
 * `metering.fsync: row` it is also flushed to disk, and survives a host crash.
 * The row is keyed by the gateway's own request id, one per request, never the
 * client's. A failing write is logged and never fails the request it describes.
 */
export function usageRecorder(ledger: UsageLedger, log: Logger): OutcomeSink {
  return function recordUsage(o) {
    const failed = (err: unknown) => log.error({ err, requestId: o.requestId }, "could not record usage");
    try {
      // The journal writes synchronously inside record(); the promise is already settled.
      ledger
        .record({
          requestId: o.requestId,
          clientRequestId: o.clientRequestId,
          ts: Date.now(),
          keyId: o.keyId,
          tier: o.tier,
          modelRequested: o.modelRequested,
          modelServed: o.modelServed,
          route: o.route,
          replica: o.replica,
          sessionId: o.sessionId,
          endpoint: o.endpoint,
          promptTokens: o.usage?.promptTokens ?? 0,
          completionTokens: o.usage?.completionTokens ?? 0,
          reasoningTokens: o.usage?.reasoningTokens ?? 0,
          cachedTokens: o.usage?.cachedTokens ?? 0,
          ttftMs: o.ttftMs,
          latencyMs: o.latencyMs,
          status: o.status,
          streamed: o.streamed,
          clientAborted: o.clientAborted,
          errorCode: o.errorCode,
        })
        .catch(failed);
    } catch (err) {
      failed(err);
    }
  };
}
