/**
 * Test fixture for webhooks: an in-process gateway with its real services (store, keys,
 * webhooks) on SQLite or a given Postgres, allow-listing only `127.0.0.1/32` through
 * `GONKA_WEBHOOK_ALLOWLIST`, and a loopback receiver that records what it gets and answers
 * statuses from a script. No engine is called: events are emitted through the sink, as the
 * async-jobs worker does.
 */
import { deepStrictEqual } from "node:assert";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { Webhook } from "standardwebhooks";
import type { Gateway } from "../app.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import type { GatewayConfigInput } from "../config/schema.ts";
import type { JobEvent } from "../jobs/eventSink.ts";
import { type Services, serviceEnv } from "../services.ts";
import { startServedGateway } from "../test/servedGateway.ts";

export interface ReceivedHook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  origin: string;
  hits: ReceivedHook[];
  /** Statuses to answer, in order; once used up, `fallback`. `"hang"` never answers. */
  script: (number | "hang")[];
  fallback: number;
  /** Waits this long before answering (widens races between replicas). */
  delayMs: number;
  /** Resolves when `n` hooks have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedHook[]>;
  close(): Promise<void>;
}

export async function startReceiver(fallback = 200): Promise<Receiver> {
  const hits: ReceivedHook[] = [];
  const waiters: (() => void)[] = [];
  const r: Receiver = {
    origin: "",
    hits,
    script: [],
    fallback,
    delayMs: 0,
    waitFor(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${hits.length} of ${n} hooks arrived`)),
          timeoutMs,
        );
        const check = () => {
          if (hits.length < n) return waiters.push(check);
          clearTimeout(timer);
          resolve(hits.slice());
        };
        check();
      });
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    hits.push({
      path: req.url!,
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      at: Date.now(),
    });
    for (const w of waiters.splice(0)) w();
    const status = r.script.shift() ?? r.fallback;
    if (status === "hang") return;
    if (r.delayMs > 0) await new Promise((done) => setTimeout(done, r.delayMs));
    res
      .writeHead(status, status >= 300 && status < 400 ? { location: `${r.origin}/elsewhere` } : {})
      .end("thanks");
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  r.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return r;
}

export interface WebhookGateway {
  url: string;
  opsUrl: string;
  services: Services;
  gateway: Gateway;
  close(): Promise<void>;
}

/** Quick retries for tests; everything else is the default configuration. */
export const TEST_WEBHOOKS = {
  allowHttp: true,
  retryDelaysMs: [100, 200],
  jitter: 0,
  pollIntervalMs: 50,
  timeoutMs: 1_000,
};

export async function startWebhookGateway(opts: {
  dataDir: string;
  databaseUrl?: string | undefined;
  webhooks?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}): Promise<WebhookGateway> {
  // Models are required by the config; no request reaches this (closed) port: nothing probes it.
  const base: GatewayConfigInput = buildGatewayConfig({
    models: [{ preset: "kimi-k2.5", replicaUrls: ["http://127.0.0.1:9"] }],
  });
  const config = parseConfig({ ...base, webhooks: opts.webhooks ?? TEST_WEBHOOKS });
  const env = serviceEnv({
    GONKA_DATA_DIR: opts.dataDir,
    ...(opts.databaseUrl ? { GONKA_DATABASE_URL: opts.databaseUrl } : {}),
    ...(opts.env ?? { GONKA_WEBHOOK_ALLOWLIST: "127.0.0.1/32" }),
  });
  const { url, opsUrl, services, gateway, close } = await startServedGateway(config, env);
  return { url, opsUrl, services, gateway, close };
}

let sequence = 0;

/** A finished job's event, as the async-jobs worker emits it. */
export function jobEvent(keyId: string, overrides: Partial<JobEvent> = {}): JobEvent {
  sequence += 1;
  const id = `job_${process.pid}_${sequence}`;
  const now = Math.floor(Date.now() / 1000);
  return {
    id: `evt_${process.pid}_${sequence}_${Date.now()}`,
    type: "job.succeeded",
    keyId,
    endpointId: null,
    createdAt: Date.now(),
    // The async-jobs branch's job object (gateway/jobs/serialize.ts), field for field.
    job: {
      id,
      object: "job",
      status: "succeeded",
      endpoint: "/v1/chat/completions",
      model: "kimi-k2.5",
      created_at: now - 2,
      started_at: now - 1,
      finished_at: now,
      expires_at: now + 86_400,
      attempts: 1,
      cancel_requested: false,
      webhook_id: null,
      completion: {
        id: "chatcmpl-1",
        object: "chat.completion",
        model: "kimi-k2.5",
        choices: [{ index: 0, message: { role: "assistant", content: "done" }, finish_reason: "stop" }],
      },
      error: null,
    },
    ...overrides,
  };
}

/** A received hook's headers as plain strings, as a web framework hands them to a verifier. */
export function headersOf(hit: ReceivedHook): Record<string, string> {
  return Object.fromEntries(
    Object.entries(hit.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]),
  );
}

/**
 * Verifies a received hook with the `openai` SDK's `webhooks.unwrap()` and with
 * `standardwebhooks`' `Webhook.verify`; rejects unless both accept it (and agree on the body).
 */
// biome-ignore lint/suspicious/noExplicitAny: JSON the tests check field by field
export async function verifyBoth(hit: ReceivedHook, secret: string): Promise<any> {
  const client = new OpenAI({ apiKey: "unused", webhookSecret: secret });
  const unwrapped = await client.webhooks.unwrap(hit.body, headersOf(hit));
  const verified = new Webhook(secret).verify(hit.body, headersOf(hit));
  deepStrictEqual(verified, unwrapped);
  return unwrapped;
}
