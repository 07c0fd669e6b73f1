import { request } from "undici";
import { type SpawnedSimulator, spawnSimulator } from "../../sim/spawn.ts";
import { createGateway, type Gateway } from "../app.ts";
import { buildGatewayConfig, type DeployedModel } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import type { GatewayConfigInput } from "../config/schema.ts";
import { createLogger } from "../logger.ts";
import type { RequestOutcome } from "../outcome.ts";

/** Real simulator subprocesses plus an in-process gateway in front of them. */
export interface Fixture {
  gateway: Gateway;
  /** The API listener. */
  url: string;
  /** The operational listener (metrics, per-model health, info). */
  opsUrl: string;
  sims: Map<string, SpawnedSimulator[]>;
  outcomes: RequestOutcome[];
  close(): Promise<void>;
}

export async function startFixture(
  models: ReadonlyArray<{ preset: string; replicas: number; simArgs?: string[] }>,
  overrides: (config: GatewayConfigInput) => GatewayConfigInput = (c) => c,
): Promise<Fixture> {
  const sims = new Map<string, SpawnedSimulator[]>();
  await Promise.all(
    models.map(async (m) => {
      const started = await Promise.all(
        Array.from({ length: m.replicas }, () =>
          spawnSimulator({ model: m.preset, ...(m.simArgs ? { args: m.simArgs } : {}) }),
        ),
      );
      sims.set(m.preset, started);
    }),
  );
  const deployed: DeployedModel[] = models.map((m) => ({
    preset: m.preset,
    replicaUrls: sims.get(m.preset)!.map((s) => s.url),
  }));
  const config = parseConfig(overrides(buildGatewayConfig({ models: deployed })));
  const outcomes: RequestOutcome[] = [];
  const gateway = createGateway({
    config,
    log: createLogger(process.env["GONKA_TEST_LOG"] ?? "silent"),
    onOutcome: (o) => outcomes.push(o),
  });
  const url = await gateway.listen(0, "127.0.0.1");
  const opsUrl = await gateway.listenOps(0, "127.0.0.1");
  return {
    gateway,
    url,
    opsUrl,
    sims,
    outcomes,
    async close() {
      await gateway.shutdown(1_000);
      await Promise.all([...sims.values()].flat().map((s) => s.stop()));
    },
  };
}

export async function setFaults(sim: SpawnedSimulator, faults: unknown[]): Promise<void> {
  const res = await request(`${sim.url}/sim/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(faults),
  });
  if (res.statusCode !== 200) throw new Error(`setting faults failed: ${await res.body.text()}`);
  await res.body.dump();
}

/** `chat` counts chat-completion requests only; `received` also counts probes of /health and /metrics. */
export async function simStats(
  sim: SpawnedSimulator,
): Promise<{ received: number; completed: number; cancelled: number; chat: number }> {
  const res = await request(`${sim.url}/sim/stats`);
  const stats = (await res.body.json()) as {
    received: number;
    completed: number;
    cancelled: number;
    byPath: Record<string, number>;
  };
  return { ...stats, chat: stats.byPath["/v1/chat/completions"] ?? 0 };
}

export async function setHealthy(sim: SpawnedSimulator, healthy: boolean): Promise<void> {
  const res = await request(`${sim.url}/sim/health`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ healthy }),
  });
  await res.body.dump();
}

/** Raw SSE read: the `data:` payloads in order. */
export async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((f) => f.startsWith("data: "))
    .map((f) => f.slice("data: ".length));
}

export function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    ...(signal ? { signal } : {}),
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
