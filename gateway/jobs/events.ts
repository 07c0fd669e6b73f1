import type { Logger } from "pino";
import type { JobRecord, JobRepository } from "../store/index.ts";
import { type JobEventSink, jobEventId } from "./eventSink.ts";
import { jobObject } from "./serialize.ts";

/**
 * Hands a finished job's event to the sink, then marks it emitted. A failure (or a crash)
 * between the two leaves it unmarked: the sweeper emits it again, with the same event id.
 */
export async function emitJobEvent(
  job: JobRecord,
  sink: JobEventSink | undefined,
  repo: JobRepository,
  log: Logger,
): Promise<void> {
  if (!sink || job.eventEmitted) return;
  const status = job.status as "succeeded" | "failed" | "cancelled";
  try {
    await sink.emit({
      id: jobEventId(job.id, status),
      type: `job.${status}`,
      keyId: job.keyId,
      endpointId: job.webhookId,
      createdAt: job.finishedAt!,
      job: jobObject(job),
    });
    await repo.markEmitted(job.id);
  } catch (err) {
    log.warn({ err, jobId: job.id }, "job event not emitted yet; the sweeper retries");
  }
}
