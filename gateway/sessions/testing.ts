/**
 * Test fixture for sessions: a real simulator subprocess behind a loopback recording proxy
 * (so tests compare exactly what the engine received), and an in-process gateway with its
 * real services (keys, store, sessions, admin) on SQLite or a given Postgres.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type SpawnedSimulator, spawnSimulator } from "../../sim/spawn.ts";
import type { Gateway } from "../app.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import type { GatewayConfigInput } from "../config/schema.ts";
import type { Services } from "../services.ts";
import { tempDataDir } from "../store/testing.ts";
import { startServedGateway } from "../test/servedGateway.ts";

export const ADMIN_KEY = "sessions-test-admin-key-0123456789";

/** Chat bodies the engine received, in order. */
export interface Recorder {
  url: string;
  chats: Record<string, unknown>[];
  /** `POST /v1/responses` bodies the engine received, in order. */
  responses: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Forwards everything to `target` and records each chat-completion body on its way. */
export async function startRecordingProxy(target: string): Promise<Recorder> {
  const chats: Record<string, unknown>[] = [];
  const responses: Record<string, unknown>[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.url === "/v1/chat/completions") chats.push(JSON.parse(body.toString("utf8")));
    if (req.url === "/v1/responses") responses.push(JSON.parse(body.toString("utf8")));
    // The gateway going away (a client abort) cancels the engine request, as it would directly.
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    try {
      const upstream = await fetch(`${target}${req.url}`, {
        method: req.method!,
        headers: { "content-type": req.headers["content-type"] ?? "application/json" },
        ...(body.length > 0 ? { body } : {}),
        signal: abort.signal,
      });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      if (upstream.body) await pipeline(Readable.fromWeb(upstream.body as never), res);
      else res.end();
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    chats,
    responses,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface SessionFixture {
  url: string;
  /** The gateway's data folder (the SQLite file, unless a Postgres URL was given). */
  dataDir: string;
  opsUrl: string;
  /** The first replica's simulator and recorder (the only ones unless `replicas` > 1). */
  sim: SpawnedSimulator;
  recorder: Recorder;
  /** One recorder per replica, in config order. */
  recorders: Recorder[];
  services: Services;
  gateway: Gateway;
  /** A new API key's secret on `tier` (default `standard`). */
  newKey(tier?: string): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export async function startSessionFixture(
  opts: {
    preset?: string;
    databaseUrl?: string;
    simArgs?: string[];
    /** Engine replicas of the model, each a simulator behind its own recorder (default 1). */
    replicas?: number;
    config?: (c: GatewayConfigInput) => GatewayConfigInput;
  } = {},
): Promise<SessionFixture> {
  const preset = opts.preset ?? "kimi-k2.5";
  const sims = await Promise.all(
    Array.from({ length: opts.replicas ?? 1 }, () =>
      spawnSimulator({ model: preset, ...(opts.simArgs ? { args: opts.simArgs } : {}) }),
    ),
  );
  const recorders = await Promise.all(sims.map((s) => startRecordingProxy(s.url)));
  const [sim, recorder] = [sims[0]!, recorders[0]!];
  const base = buildGatewayConfig({ models: [{ preset, replicaUrls: recorders.map((r) => r.url) }] });
  const config = parseConfig(opts.config ? opts.config(base) : base);
  const data = tempDataDir();
  const served = await startServedGateway(
    config,
    {
      dataDir: data.dir,
      databaseUrl: opts.databaseUrl,
      redisUrl: undefined,
      adminKey: ADMIN_KEY,
      engineApiKey: undefined,
    },
    { keyName: "sessions-test" },
  );
  return {
    ...served,
    dataDir: data.dir,
    sim,
    recorder,
    recorders,
    async close() {
      await served.close();
      await Promise.all(recorders.map((r) => r.close()));
      await Promise.all(sims.map((s) => s.stop()));
      data.remove();
    },
  };
}
