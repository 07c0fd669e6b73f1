/**
 * Runs a job's request through the gateway's own request path: routing (`routeModel`,
 * including router aliases) and the proxy, with its replica retries, reasoning
 * normalisation and metering (one usage row per run, billed to the job's key). Admission is
 * not run again: the job was charged when it was accepted.
 *
 * The proxy answers on a socket (it writes the response itself, streaming needs to), so the
 * worker calls these steps through a private HTTP server on loopback instead of a second copy
 * of the proxy. Each run is registered under a random token the request carries; the server
 * answers nothing else. Aborting the worker's request closes that socket, which the proxy
 * sees as a client going away: it cancels the upstream request, so the engine stops.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Koa, { type Middleware } from "koa";
import type { Logger } from "pino";
import { Agent, request } from "undici";
import { errors } from "../errors.ts";
import { errorHandler } from "../middleware/errorHandler.ts";
import type { GatewayState } from "../state.ts";
import type { JobRecord, KeyRecord } from "../store/index.ts";

type Step = Middleware<GatewayState>;

const RUN_HEADER = "x-gonka-job-run";

export interface JobRun {
  job: JobRecord;
  key: KeyRecord;
  /** This run's gateway request id (its usage row's identity). */
  requestId: string;
  signal: AbortSignal;
}

/** The HTTP status and JSON body the run ended with: a completion, or an OpenAI error object. */
export interface RunResult {
  status: number;
  body: Record<string, unknown>;
}

export interface JobRunner {
  run(run: JobRun): Promise<RunResult>;
  close(): Promise<void>;
}

/** `steps`: what the gateway runs for the endpoint after admission (route, then proxy). */
export async function startJobRunner(steps: readonly Step[], log: Logger): Promise<JobRunner> {
  const pending = new Map<string, JobRun>();
  const app = new Koa<GatewayState>();
  app.silent = true;
  app.use(errorHandler(log));
  app.use(async function restoreRequest(ctx, next) {
    const run = pending.get(ctx.get(RUN_HEADER));
    if (!run) throw errors.routeNotFound(ctx.method, ctx.path);
    const body = run.job.request;
    ctx.state.requestId = run.requestId;
    ctx.state.clientRequestId = run.job.clientRequestId ?? undefined;
    ctx.state.startedAt = Date.now();
    ctx.state.responseHeaders = {};
    ctx.state.key = run.key;
    ctx.state.body = body;
    ctx.state.rawBody = Buffer.from(JSON.stringify(body));
    await next();
  });
  for (const step of steps) app.use(step);
  const server: Server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // No client-side timeouts: a job's answer may take longer than fetch's 300 s default, and
  // the proxy behind already enforces the model's own timeouts (connect, first byte, idle).
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

  return {
    async run(run) {
      const token = randomBytes(16).toString("hex");
      pending.set(token, run);
      try {
        const res = await request(`${origin}/run`, {
          method: "POST",
          headers: { [RUN_HEADER]: token },
          signal: run.signal,
          dispatcher: agent,
        });
        const text = await res.body.text();
        try {
          return { status: res.statusCode, body: JSON.parse(text) as Record<string, unknown> };
        } catch {
          return {
            status: 502,
            body: { ...errors.upstreamFailed("The job's answer was not JSON.").toBody() },
          };
        }
      } finally {
        pending.delete(token);
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
}
