/**
 * Job metrics on the gateway's registry (`GET /metrics` on the operational listener).
 * `gonka_jobs` is read from the store at scrape time, so with Postgres it is the queue every
 * replica shares; completions and durations are this process's own.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { JobRepository, TerminalStatus } from "../store/index.ts";

const DURATION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export interface JobMetrics {
  /** A job this process ended: `seconds` from acceptance to the end. */
  finished(outcome: TerminalStatus, seconds: number): void;
}

export function createJobMetrics(registry: Registry, repo: JobRepository): JobMetrics {
  new Gauge({
    name: "gonka_jobs",
    help: "Async jobs waiting (queued) and being run (running), read from the store at scrape time.",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      // A store that cannot be read leaves the last values: the scrape itself must not fail.
      const counts = await repo.countByStatus().catch(() => undefined);
      if (!counts) return;
      this.set({ status: "queued" }, counts.queued ?? 0);
      this.set({ status: "running" }, counts.running ?? 0);
    },
  });
  const completed = new Counter({
    name: "gonka_jobs_completed_total",
    help: "Async jobs this gateway ended, by outcome (succeeded, failed, cancelled).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "gonka_job_duration_seconds",
    help: "Async jobs: time from acceptance (202) to the end, by outcome.",
    labelNames: ["outcome"] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  for (const outcome of ["succeeded", "failed", "cancelled"]) completed.inc({ outcome }, 0);
  return {
    finished(outcome, seconds) {
      completed.inc({ outcome });
      duration.observe({ outcome }, seconds);
    },
  };
}
