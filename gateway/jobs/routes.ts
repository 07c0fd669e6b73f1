/**
 * `/v1/jobs` on the API listener: the caller's own jobs (another key's are 404, so ids do not
 * leak). Cancelling a finished job returns it unchanged (200), so a cancel that raced the
 * job's end is not an error.
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import { z } from "zod";
import { parseOr400 } from "../admin/validate.ts";
import type { GatewayConfig } from "../config/schema.ts";
import type { GatewayState } from "../state.ts";
import { NotFound } from "../store/errors.ts";
import type { JobRecord, JobRepository } from "../store/index.ts";
import { retentionMs } from "./retention.ts";
import { jobList, jobObject } from "./serialize.ts";
import { cancelledError } from "./worker.ts";

type Step = Middleware<GatewayState>;

const JOB_ID = /^job_[0-9a-f]{24}$/;

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  after: z.string().min(1).max(100).optional(),
});

export interface JobRoutesDeps {
  repo: JobRepository;
  config: GatewayConfig;
  /** Aborts this gateway's run of a job and waits for it to end (other gateways see the flag). */
  cancelLocal(id: string): Promise<void>;
  /**
   * A queued job this route cancelled ended here, with no worker to count it in the metrics
   * and hand its event to the sink: this does both.
   */
  cancelledQueued(job: JobRecord): Promise<void>;
}

export function mountJobRoutes(
  router: Router<GatewayState>,
  auth: readonly Step[],
  deps: JobRoutesDeps,
): void {
  const { repo } = deps;
  const find = async (keyId: string, id: string) => {
    const job = JOB_ID.test(id) ? await repo.get(keyId, id) : undefined;
    if (!job) throw new NotFound("job_not_found", "job_id", `No job with id \`${id}\`.`);
    return job;
  };

  router.get("/v1/jobs", ...auth, async (ctx) => {
    const q = parseOr400(
      listQuery,
      ctx.query,
      "invalid_list_query",
      {
        limit: "`limit` must be an integer from 1 to 100 (default 20).",
        after: "`after` must be a job id (the `last_id` of the previous page).",
      },
      "parameter",
    );
    const page = await repo.list({
      keyId: ctx.state.key!.id,
      limit: q.limit ?? 20,
      ...(q.after ? { after: q.after } : {}),
    });
    ctx.body = jobList(page);
  });

  router.get("/v1/jobs/:id", ...auth, async (ctx) => {
    ctx.body = jobObject(await find(ctx.state.key!.id, ctx.params["id"]!));
  });

  router.post("/v1/jobs/:id/cancel", ...auth, async (ctx) => {
    const key = ctx.state.key!;
    const job = await find(key.id, ctx.params["id"]!);
    if (job.status === "queued" || job.status === "running") {
      const after = await repo.cancel(key.id, job.id, retentionMs(deps.config, job.tier), cancelledError());
      // A queued job ends right here: its event goes out now, not at the sweeper's next pass
      // (`jobs.sweepIntervalMs` later). A running one ends in its worker, which does the same.
      if (job.status === "queued" && after?.status === "cancelled") await deps.cancelledQueued(after);
      // Running here: abort the upstream request now and answer with the job's end. Running on
      // another gateway: it sees the flag at its next lease renewal.
      await deps.cancelLocal(job.id);
    }
    ctx.body = jobObject(await find(key.id, job.id));
  });
}
