/**
 * Test fixture for jobs: a real simulator subprocess behind a loopback recording proxy, and
 * an in-process gateway with its real services (keys, store, jobs) on SQLite or a given
 * Postgres, optionally with a job event sink that records into an array.
 */

import { expect } from "vitest";
import { type SpawnedSimulator, spawnSimulator } from "../../sim/spawn.ts";
import type { Gateway } from "../app.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import type { GatewayConfigInput } from "../config/schema.ts";
import type { Services } from "../services.ts";
import { type Recorder, startRecordingProxy } from "../sessions/testing.ts";
import { tempDataDir } from "../store/testing.ts";
import { startServedGateway } from "../test/servedGateway.ts";
import type { JobEvent, JobEventSink } from "./eventSink.ts";
import type { JobObject } from "./serialize.ts";

/** A sink that keeps every event; `failNext` makes the next `emit` calls throw (a crash stand-in). */
export class RecordingSink implements JobEventSink {
  readonly events: JobEvent[] = [];
  readonly endpoints = new Map<string, string>();
  failNext = 0;

  async checkEndpoint(keyId: string, endpointId: string): Promise<void> {
    if (this.endpoints.get(endpointId) !== keyId) {
      const { GatewayError } = await import("../errors.ts");
      throw new GatewayError({
        status: 404,
        type: "invalid_request_error",
        code: "webhook_not_found",
        param: "Gonka-Webhook-Id",
        message: `No webhook endpoint with id \`${endpointId}\`.`,
      });
    }
  }

  async emit(event: JobEvent): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("sink unavailable");
    }
    if (!this.events.some((e) => e.id === event.id)) this.events.push(event);
  }
}

export interface JobFixture {
  url: string;
  opsUrl: string;
  sim: SpawnedSimulator;
  recorder: Recorder;
  services: Services;
  gateway: Gateway;
  newKey(tier?: string): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export async function startJobFixture(
  opts: {
    preset?: string;
    simArgs?: string[];
    databaseUrl?: string;
    sink?: JobEventSink;
    /** GONKA_WEBHOOK_ALLOWLIST, e.g. `["127.0.0.1/32"]` for a loopback receiver (empty by default). */
    webhookAllowlist?: string[];
    config?: (c: GatewayConfigInput) => GatewayConfigInput;
  } = {},
): Promise<JobFixture> {
  const preset = opts.preset ?? "qwen3-32b";
  const sim = await spawnSimulator({ model: preset, ...(opts.simArgs ? { args: opts.simArgs } : {}) });
  const recorder = await startRecordingProxy(sim.url);
  const base = buildGatewayConfig({ models: [{ preset, replicaUrls: [recorder.url] }] });
  // Tests poll often so a job starts within milliseconds of being queued by another process.
  const withJobs = { ...base, jobs: { pollIntervalMs: 50, retryBackoffMs: 10, ...base.jobs } };
  const config = parseConfig(opts.config ? opts.config(withJobs) : withJobs);
  const data = tempDataDir();
  const served = await startServedGateway(
    config,
    {
      dataDir: data.dir,
      databaseUrl: opts.databaseUrl,
      redisUrl: undefined,
      adminKey: undefined,
      engineApiKey: undefined,
      webhookAllowlist: opts.webhookAllowlist,
    },
    { keyName: "jobs-test", extras: opts.sink ? { jobEventSink: () => opts.sink! } : {} },
  );
  return {
    ...served,
    sim,
    recorder,
    async close() {
      await served.close();
      await recorder.close();
      await sim.stop();
      data.remove();
    },
  };
}

/** Polls `GET /v1/jobs/{id}` until `done(job)` holds (default: the job has ended). */
export async function waitForJob(
  url: string,
  secret: string,
  id: string,
  done: (job: JobObject) => boolean = (j) => ["succeeded", "failed", "cancelled"].includes(j.status),
  timeoutMs = 20_000,
): Promise<JobObject> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${secret}` } });
    const job = (await res.json()) as JobObject;
    if (res.status === 200 && done(job)) return job;
    if (Date.now() > deadline)
      throw new Error(`job ${id} did not reach the state in time: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** POSTs `body` to `/v1/chat/completions` with `Prefer: respond-async` (plus `headers`): the raw answer. */
export function postAsync(
  url: string,
  secret: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${secret}`,
      prefer: "respond-async",
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

/** Queues one chat completion on qwen3-32b (optionally naming a webhook endpoint); expects 202. */
export async function submitJob(
  url: string,
  secret: string,
  content: string,
  opts: { maxTokens?: number; webhookId?: string | undefined } = {},
): Promise<JobObject> {
  const res = await postAsync(
    url,
    secret,
    { model: "qwen3-32b", max_tokens: opts.maxTokens ?? 8, messages: [{ role: "user", content }] },
    opts.webhookId ? { "gonka-webhook-id": opts.webhookId } : {},
  );
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as JobObject;
}
