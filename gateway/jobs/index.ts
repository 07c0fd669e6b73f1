/**
 * Async jobs (AGNT-04): `Prefer: respond-async` on chat completions, `/v1/jobs`, the worker
 * that runs queued jobs through the gateway's own request path, the retention sweeper, and
 * the job events handed to an optional sink (webhooks).
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { GatewayConfig } from "../config/schema.ts";
import type { GatewayState } from "../state.ts";
import type { JobRepository, KeyRepository } from "../store/index.ts";
import { acceptStep } from "./accept.ts";
import type { JobEventSink } from "./eventSink.ts";
import { emitJobEvent } from "./events.ts";
import { createJobMetrics, type JobMetrics } from "./metrics.ts";
import { mountJobRoutes } from "./routes.ts";
import { type JobRunner, startJobRunner } from "./runner.ts";
import { type JobSweeper, startJobSweeper } from "./sweeper.ts";
import { JobWorker } from "./worker.ts";

type Step = Middleware<GatewayState>;

/** What createGateway needs to offer async jobs. */
export interface JobsWiring {
  /** Runs on chat completions after admission: answers `Prefer: respond-async` requests with 202. */
  readonly acceptStep: Step;
  /** Mounts `/v1/jobs` on the API router behind `auth`. */
  mount(router: Router<GatewayState>, auth: readonly Step[]): void;
  /**
   * Gives jobs the gateway's chat request path after admission (routing, then the proxy) and
   * its metrics registry; called once by createGateway.
   */
  attach(parts: { steps: Step[]; registry: Registry }): void;
  /** Starts the worker and the sweeper (createGateway's `listen`). */
  start(): Promise<void>;
  /** Stops claiming; running jobs get `graceMs` to finish, the rest go back to the queue. */
  stop(graceMs: number): Promise<void>;
}

export interface JobsDeps {
  repo: JobRepository;
  keys: KeyRepository;
  config: GatewayConfig;
  log: Logger;
  /** Receives job events (webhooks); without one, naming a webhook is a 400. */
  sink?: JobEventSink | undefined;
}

export function createJobs(deps: JobsDeps): JobsWiring {
  const { repo, config, log, sink } = deps;
  let steps: Step[] | undefined;
  let metrics: JobMetrics | undefined;
  let worker: JobWorker | undefined;
  let runner: JobRunner | undefined;
  let sweeper: JobSweeper | undefined;
  let started: Promise<void> | undefined;
  return {
    acceptStep: acceptStep({ repo, sink, accepted: () => worker?.kick() }),
    mount: (router, auth) =>
      mountJobRoutes(router, auth, {
        repo,
        config,
        cancelLocal: async (id) => worker?.cancelLocal(id),
        async cancelledQueued(job) {
          metrics?.finished("cancelled", (job.finishedAt! - job.createdAt) / 1000);
          await emitJobEvent(job, sink, repo, log);
        },
      }),
    attach(parts) {
      steps = parts.steps;
      metrics = createJobMetrics(parts.registry, repo);
    },
    start() {
      started ??= (async () => {
        if (!steps) throw new Error("jobs: attach() must run before start()");
        runner = await startJobRunner(steps, log);
        worker = new JobWorker({ repo, keys: deps.keys, runner, config, sink, metrics, log });
        worker.start();
        sweeper = startJobSweeper(repo, sink, { intervalMs: config.jobs.sweepIntervalMs, log });
      })();
      return started;
    },
    async stop(graceMs) {
      await started;
      await worker?.stop(graceMs);
      await sweeper?.stop();
      await runner?.close();
      worker = undefined;
      runner = undefined;
      sweeper = undefined;
    },
  };
}

export type { JobEvent, JobEventSink, JobEventType } from "./eventSink.ts";
export { jobsOpenApi } from "./openapi.ts";
export type { JobObject } from "./serialize.ts";
