/**
 * The in-process job worker: claims jobs from the store (at most `concurrency` at once),
 * runs each through the gateway's request path (runner.ts), renews its lease while it runs,
 * and ends it: `succeeded` with the completion, back to the queue after a retryable failure
 * (429, 5xx) until `maxAttempts` runs, then `failed` with the OpenAI error object. Every
 * end is written under the claim token, so a run whose lease lapsed (another gateway took
 * the job over) writes nothing.
 */
import type { Logger } from "pino";
import type { GatewayConfig } from "../config/schema.ts";
import {
  type ClaimedJob,
  type JobRecord,
  type KeyRepository,
  keyState,
  type TerminalStatus,
} from "../store/index.ts";
import type { JobRepository } from "../store/jobs.ts";
import type { JobEventSink } from "./eventSink.ts";
import { emitJobEvent } from "./events.ts";
import type { JobMetrics } from "./metrics.ts";
import { retentionMs } from "./retention.ts";
import type { JobRunner, RunResult } from "./runner.ts";

type Json = Record<string, unknown>;

/** Why a run was stopped before it ended by itself. */
type StopReason = "cancelled" | "lost" | "shutdown";

export interface WorkerDeps {
  repo: JobRepository;
  keys: KeyRepository;
  runner: JobRunner;
  config: GatewayConfig;
  sink: JobEventSink | undefined;
  metrics: JobMetrics | undefined;
  log: Logger;
}

const apiError = (message: string, type: string, code: string): Json => ({
  message,
  type,
  param: null,
  code,
});

export const cancelledError = () =>
  apiError("The job was cancelled before it finished.", "invalid_request_error", "job_cancelled");

export class JobWorker {
  readonly #deps: WorkerDeps;
  readonly #active = new Map<string, { abort: AbortController; done: Promise<void> }>();
  #stopping = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(deps: WorkerDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#loop ??= this.#claimLoop();
  }

  /** Looks for work now (a job was just accepted, or a run ended and a slot is free). */
  kick(): void {
    this.#wake?.();
  }

  /** Aborts this process's run of the job, if it has one, and waits (up to `ms`) for it to end. */
  async cancelLocal(id: string, ms = 5_000): Promise<void> {
    const run = this.#active.get(id);
    if (!run) return;
    run.abort.abort("cancelled" satisfies StopReason);
    await Promise.race([run.done, new Promise((r) => setTimeout(r, ms).unref())]);
  }

  /**
   * Stops claiming; lets running jobs finish for up to `graceMs`, then aborts the rest and puts
   * them back in the queue (their attempt refunded), so another gateway runs them at once
   * instead of waiting for their leases to lapse.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.kick();
    await this.#loop;
    const all = () => Promise.all([...this.#active.values()].map((r) => r.done));
    await Promise.race([all(), new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const run of this.#active.values()) run.abort.abort("shutdown" satisfies StopReason);
    await all();
  }

  async #claimLoop(): Promise<void> {
    const { repo, config, log } = this.#deps;
    while (!this.#stopping) {
      if (this.#active.size >= config.jobs.concurrency) {
        await this.#sleep(config.jobs.pollIntervalMs);
        continue;
      }
      let claim: ClaimedJob | undefined;
      try {
        claim = await repo.claim(config.jobs.leaseMs);
      } catch (err) {
        log.warn({ err }, "job claim failed; retrying");
      }
      if (!claim) {
        await this.#sleep(config.jobs.pollIntervalMs);
        continue;
      }
      const abort = new AbortController();
      const id = claim.job.id;
      const done = this.#execute(claim, abort)
        .catch((err: unknown) => log.error({ err, jobId: id }, "job run failed"))
        .finally(() => {
          this.#active.delete(id);
          this.kick();
        });
      this.#active.set(id, { abort, done });
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  async #execute({ job, token }: ClaimedJob, abort: AbortController): Promise<void> {
    const { repo, keys, runner, config, log } = this.#deps;
    const leaseMs = config.jobs.leaseMs;
    // Renewing also tells this run that the job was cancelled through another gateway.
    const renew = setInterval(
      () => {
        repo.renew(job.id, token, leaseMs).then(
          (r) => {
            if (!r.held) abort.abort("lost" satisfies StopReason);
            else if (r.cancelRequested) abort.abort("cancelled" satisfies StopReason);
          },
          (err: unknown) => log.warn({ err, jobId: job.id }, "job lease renewal failed"),
        );
      },
      Math.max(20, Math.min(leaseMs / 3, 5_000)),
    );
    try {
      if (job.cancelRequested) return await this.#end(job, token, "cancelled", null, cancelledError());
      if (job.attempts > config.jobs.maxAttempts) {
        // Runs past the limit were lost with their gateway (a crash): no answer, no error to report.
        const message = `The job was interrupted ${job.attempts - 1} times (its gateway stopped while running it); it is not run again.`;
        return await this.#end(
          job,
          token,
          "failed",
          null,
          apiError(message, "server_error", "job_attempts_exhausted"),
        );
      }
      const key = await keys.get(job.keyId);
      if (!key || keyState(key) !== "active") {
        const message =
          "The API key that created this job has been revoked or has expired; the job was not run.";
        return await this.#end(
          job,
          token,
          "failed",
          null,
          apiError(message, "authentication_error", "invalid_api_key"),
        );
      }
      // Each run is its own request (and usage row); the first keeps the accepting request's id.
      const requestId = job.attempts === 1 ? job.requestId : `${job.requestId}_${job.attempts}`;
      let result: RunResult | undefined;
      try {
        result = await runner.run({ job, key, requestId, signal: abort.signal });
      } catch (err) {
        if (!abort.signal.aborted) {
          log.warn({ err, jobId: job.id }, "job run did not complete");
          result = {
            status: 502,
            body: { error: apiError("The job's request was interrupted.", "server_error", "upstream_error") },
          };
        }
      }
      if (result?.status === 200) return await this.#end(job, token, "succeeded", result.body, null);
      const stopped = abort.signal.reason as StopReason | undefined;
      if (stopped === "lost") return;
      if (stopped === "cancelled") return await this.#end(job, token, "cancelled", null, cancelledError());
      if (stopped === "shutdown") {
        await repo.release(job.id, token, true);
        return;
      }
      const error =
        (result!.body["error"] as Json | undefined) ??
        apiError("The job failed.", "server_error", "job_failed");
      if (!retryable(result!.status) || job.attempts >= config.jobs.maxAttempts) {
        return await this.#end(job, token, "failed", null, error);
      }
      log.info({ jobId: job.id, attempt: job.attempts, status: result!.status }, "job run failed; retrying");
      await this.#backoff(config.jobs.retryBackoffMs * 2 ** (job.attempts - 1), abort.signal);
      if (abort.signal.reason === "cancelled")
        return await this.#end(job, token, "cancelled", null, cancelledError());
      if (abort.signal.reason !== "lost") await repo.release(job.id, token, false);
    } finally {
      clearInterval(renew);
    }
  }

  /** Waits before a retry, holding the claim (the lease is renewed meanwhile); a stop ends it early. */
  #backoff(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  async #end(job: JobRecord, token: string, status: TerminalStatus, result: Json | null, error: Json | null) {
    const { repo, config, sink, metrics } = this.#deps;
    const done = await repo.finish(job.id, token, {
      status,
      result,
      error,
      retentionMs: retentionMs(config, job.tier),
      eventEmitted: sink === undefined,
    });
    if (!done) return; // the claim lapsed and another gateway has the job: it ends it
    metrics?.finished(status, (done.finishedAt! - done.createdAt) / 1000);
    this.#deps.log.info({ jobId: job.id, status, attempts: done.attempts }, "job finished");
    await emitJobEvent(done, sink, repo, this.#deps.log);
  }
}

/** Failures worth another run: rate limits and server-side errors (no replica, timeouts, 5xx). */
function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}
