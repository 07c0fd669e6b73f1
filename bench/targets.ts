/**
 * Everything `npm run bench` measures, started once and pointed at the same two simulators
 * (one answering at once for non-streamed requests, one spacing tokens 1 ms apart for streams,
 * so each SSE event arrives in its own read, as from a GPU). The gateway rows are started as
 * `npm run bench:gateway` starts them (its bare proxy and core scripts, the real gateway
 * through harness/spawnGateway); optional rows (Postgres, the peers) that cannot start are
 * reported as skipped with the reason, and the others still run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FAST, PACED, PATH, plainBody, streamedBody } from "../gateway/bench/workload.ts";
import { buildGatewayConfig } from "../gateway/config/fromCatalog.ts";
import { parseLogLine, spawnNode } from "../harness/childProcess.ts";
import { startPostgresServer } from "../harness/postgresServer.ts";
import { startRedisServer } from "../harness/redisServer.ts";
import { spawnGateway } from "../harness/spawnGateway.ts";
import { spawnSimulator } from "../sim/spawn.ts";
import { startLitellm } from "./peers/litellm.ts";
import { startPortkey } from "./peers/portkey.ts";

export const TARGET_IDS = [
  "direct",
  "bare",
  "core",
  "sqlite",
  "postgres",
  "sessions",
  "portkey",
  "litellm",
] as const;
export type TargetId = (typeof TARGET_IDS)[number];
export const PEER_IDS: readonly TargetId[] = ["portkey", "litellm"];

export interface Endpoint {
  url: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
  /** Processes whose CPU and memory count for this row; none for the simulator itself. */
  pids: number[];
}

export interface BenchTarget {
  id: TargetId;
  name: string;
  plain: Endpoint;
  streamed: Endpoint;
}

export interface StartedTargets {
  targets: BenchTarget[];
  skipped: Array<{ id: TargetId; reason: string }>;
  stop(): Promise<void>;
}

const gatewayScript = (name: string) => fileURLToPath(new URL(`../gateway/bench/${name}`, import.meta.url));
const urlFromLog = (line: string) => parseLogLine(line)?.["url"] as string | undefined;
const ADMIN_KEY = "bench-admin-key-0123456789abcdef";

/**
 * A fresh X-Session-Id on every request: loadgen spreads the headers object per request, and
 * the spread reads this getter each time. Each request is then a session's first turn (lock,
 * create, store the turn); reusing ids would make concurrent turns collide (409) and histories grow.
 */
function freshSessionHeaders(base: Record<string, string>): Record<string, string> {
  let n = 0;
  const prefix = `bench-${process.pid}-${Date.now()}`;
  return {
    ...base,
    get "x-session-id"() {
      n += 1;
      return `${prefix}-${n}`;
    },
  };
}

export async function startTargets(
  wanted: ReadonlySet<TargetId>,
  log: (l: string) => void,
): Promise<StartedTargets> {
  const dir = mkdtempSync(join(tmpdir(), "gonka-bench-"));
  const stops: Array<() => Promise<void>> = [];
  const targets: BenchTarget[] = [];
  const skipped: StartedTargets["skipped"] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  const optional = async (id: TargetId, start: () => Promise<void>) => {
    if (!wanted.has(id)) return;
    try {
      await start();
    } catch (err) {
      const reason = (err as Error).message.split("\n").slice(0, 6).join("\n");
      log(`${id}: skipped — ${reason}`);
      skipped.push({ id, reason: reason.split("\n")[0]! });
    }
  };
  try {
    log("starting the simulators…");
    const fastSim = await spawnSimulator({ model: FAST });
    const pacedSim = await spawnSimulator({ model: PACED, args: ["--tpot-ms", "1"] });
    stops.push(fastSim.stop, pacedSim.stop);
    const row = (
      id: TargetId,
      name: string,
      plain: Omit<Endpoint, "path" | "body">,
      streamed: Omit<Endpoint, "path" | "body">,
    ) =>
      targets.push({
        id,
        name,
        plain: { ...plain, path: PATH, body: plainBody },
        streamed: { ...streamed, path: PATH, body: streamedBody },
      });
    row("direct", "direct to the simulator", { url: fastSim.url, pids: [] }, { url: pacedSim.url, pids: [] });

    log("starting the bare proxies…");
    const bare = async (upstream: string) => {
      const child = await spawnNode({
        name: "bare proxy",
        script: gatewayScript("bareProxy.ts"),
        args: [upstream],
        ready: urlFromLog,
      });
      stops.push(() => child.stop());
      return { url: child.readyValue, pids: [child.pid] };
    };
    row("bare", "bare proxy (floor)", await bare(fastSim.url), await bare(pacedSim.url));

    const configPath = join(dir, "gateway.json");
    const tiers = {
      bench: { requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000, concurrentRequests: 10_000 },
    };
    const models = [
      { preset: FAST, replicaUrls: [fastSim.url] },
      { preset: PACED, replicaUrls: [pacedSim.url] },
    ];
    writeFileSync(configPath, JSON.stringify(buildGatewayConfig({ models, tiers })));

    if (wanted.has("core")) {
      log("starting the gateway core…");
      const core = await spawnNode({
        name: "core gateway",
        script: gatewayScript("coreGateway.ts"),
        args: ["--config", configPath],
        ready: urlFromLog,
        onLine: () => {},
      });
      stops.push(() => core.stop());
      const ep = { url: core.readyValue, pids: [core.pid] };
      row("core", "gateway core", ep, ep);
    }

    const full = async (name: string, env: NodeJS.ProcessEnv) => {
      const gw = await spawnGateway({
        configPath,
        env: { GONKA_DATA_DIR: join(dir, name), GONKA_ADMIN_KEY: ADMIN_KEY, ...env },
        onLogLine: () => {},
      });
      stops.push(() => gw.stop());
      const created = await fetch(`${gw.opsUrl}/admin/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "bench", tier: "bench" }),
      });
      const { secret } = (await created.json()) as { secret: string };
      return { url: gw.url, pids: [gw.pid], headers: { authorization: `Bearer ${secret}` } };
    };
    if (["sqlite", "postgres", "sessions"].some((id) => wanted.has(id as TargetId))) {
      log("starting Redis and the gateway with all features (keys, Redis limits, metering) on SQLite…");
      const redis = await startRedisServer();
      stops.push(() => redis.stop());
      const onSqlite = await full("sqlite", { REDIS_URL: redis.url });
      if (wanted.has("sqlite")) row("sqlite", "gateway, all features, SQLite", onSqlite, onSqlite);
      if (wanted.has("sessions")) {
        const withSessions = { ...onSqlite, headers: freshSessionHeaders(onSqlite.headers) };
        row("sessions", "gateway, all features + sessions", withSessions, withSessions);
      }
      await optional("postgres", async () => {
        log("starting PostgreSQL and the gateway with all features on it…");
        const postgres = await startPostgresServer();
        stops.push(() => postgres.stop());
        const onPg = await full("postgres", {
          REDIS_URL: redis.url,
          GONKA_DATABASE_URL: await postgres.createDatabase("bench"),
        });
        row("postgres", "gateway, all features, Postgres", onPg, onPg);
      });
    }

    await optional("portkey", async () => {
      const portkey = await startPortkey(log);
      stops.push(portkey.stop);
      const ep = (upstream: string) => ({
        url: portkey.url,
        pids: [portkey.pid],
        headers: portkey.headersFor(upstream),
      });
      row("portkey", "Portkey OSS (peer)", ep(fastSim.url), ep(pacedSim.url));
    });
    await optional("litellm", async () => {
      const litellm = await startLitellm(
        [
          { model: FAST, upstream: fastSim.url },
          { model: PACED, upstream: pacedSim.url },
        ],
        log,
      );
      stops.push(litellm.stop);
      const ep = { url: litellm.url, pids: [litellm.pid] };
      row("litellm", "LiteLLM proxy, 1 worker (peer)", ep, ep);
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // Rows in the table's order, whatever order they started in.
  targets.sort((a, b) => TARGET_IDS.indexOf(a.id) - TARGET_IDS.indexOf(b.id));
  return { targets, skipped, stop };
}
