/**
 * `npm start`: simulated backends for the catalog models and the gateway in front
 * of them, all on 127.0.0.1, state under GONKA_DATA_DIR (default `.gonka`).
 * Writes `<dataDir>/local-stack.json` for tools and tests; stops every child on
 * Ctrl-C or SIGTERM.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildGatewayConfig } from "../gateway/config/fromCatalog.ts";
import { EXAMPLE_ROUTER } from "../gateway/tiering/exampleRouter.ts";
import { ensureInstalled } from "../reference-engine/ensureInstalled.ts";
import { type ReferenceVllm, startReferenceVllm } from "../reference-engine/referenceVllm.ts";
import { type ScriptingProxy, startScriptingProxy } from "../reference-engine/scriptingProxy.ts";
import { REFERENCE_MODEL } from "../reference-engine/vllmArgs.ts";
import { compileScript, loadScriptFile } from "../sim/script.ts";
import { type SpawnedSimulator, spawnSimulator } from "../sim/spawn.ts";
import { adminClient } from "./adminClient.ts";
import { parseSimScriptEnv, scriptFor } from "./simScripts.ts";
import { type SpawnedGateway, spawnGateway } from "./spawnGateway.ts";

export interface LocalStackInfo {
  /** The API listener: `/v1/*`. */
  gatewayUrl?: string;
  /** Base of the admin API (`${adminUrl}/admin/...`); locally the operational listener. */
  adminUrl?: string;
  /** Metrics, per-model health, info (`${opsUrl}/metrics`…); the operational listener. */
  opsUrl?: string;
  apiKey?: string;
  adminKey: string;
  models: string[];
  backends: { model: string; url: string }[];
  dataDir: string;
  pid: number;
  startedAt: string;
}

/** Which simulated models run, and how many replicas each. */
export const LOCAL_MODELS: ReadonlyArray<{ preset: string; replicas: number }> = [
  { preset: "kimi-k2.5", replicas: 2 },
  { preset: "kimi-k2.5-q2", replicas: 1 },
  { preset: "deepseek-v3.1", replicas: 1 },
  { preset: "llama-4-maverick", replicas: 1 },
  { preset: "qwen3-32b", replicas: 1 },
  { preset: "qwen3-embedding-0.6b", replicas: 1 },
];

export interface LocalStackOptions {
  dataDir?: string;
  port?: number;
  /** The operational listener's port (default 8081; 0 when `port` is 0). */
  opsPort?: number;
  adminKey?: string;
  redisUrl?: string;
  /** Extra simulator flags (latency model, scripts) for every simulator. */
  simArgs?: readonly string[];
  /**
   * Script files per model (catalog id or alias; `*` for every vLLM chat model, not the embedding
   * or llama.cpp ones), as `GONKA_SIM_SCRIPT` sets them: see {@link parseSimScriptEnv}.
   */
  simScripts?: Readonly<Record<string, string>>;
  /**
   * `vllm-ref`: kimi-k2.5 is served by one real vLLM 0.20.2 (reference-engine/, CPU, tiny model)
   * instead of simulators, behind the scripting proxy that has the tiny model answer each chat
   * request the way the simulator would (reference-engine/scriptingProxy.ts); the other models
   * stay simulated. Default `sim`.
   */
  backend?: "sim" | "vllm-ref";
  log?: (line: string) => void;
}

export interface LocalStack {
  info: LocalStackInfo;
  stop(): Promise<void>;
}

export function localStackFile(dataDir: string): string {
  return resolve(dataDir, "local-stack.json");
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const dataDir = resolve(opts.dataDir ?? ".gonka");
  const log = opts.log ?? (() => {});
  mkdirSync(dataDir, { recursive: true });
  // Not `gk-`: admin tokens must never look like API keys.
  const adminKey = opts.adminKey ?? `gka-${randomBytes(24).toString("base64url")}`;
  const sims: SpawnedSimulator[] = [];
  let ref: ReferenceVllm | undefined;
  let proxy: ScriptingProxy | undefined;
  let gateway: SpawnedGateway | undefined;
  const stop = async () => {
    await Promise.all([gateway?.stop(), ...sims.map((s) => s.stop()), proxy?.close(), ref?.stop()]);
    rmSync(localStackFile(dataDir), { force: true });
  };
  try {
    const useRef = opts.backend === "vllm-ref";
    if (useRef) {
      await ensureInstalled();
      log("starting the reference vLLM (CPU; about a minute)…");
      // A 10-ms pause per engine step caps decoding near a GPU's single-stream speed. Unpaused, the
      // engine core spins a whole core and outruns a CPU-starved API server, whose event loop then
      // answers /health only after its backlog: the gateway's 2-s probes failed under load
      // (reference-engine/README.md). 20 ms (the differential test's) would make a 16 KB tool
      // argument (~3k tokens) take ~75 s; 10 ms, ~40 s.
      ref = await startReferenceVllm({ stepPauseMs: 10 });
      log(`reference vLLM ready in ${(ref.startupMs / 1000).toFixed(1)} s at ${ref.url}`);
      // The simulators' `--script` rules choose the real engine's replies too.
      const scriptFile = scriptFor(REFERENCE_MODEL, opts.simScripts ?? {}) ?? scriptFlag(opts.simArgs ?? []);
      proxy = await startScriptingProxy({
        upstream: ref.url,
        ...(scriptFile ? { script: compileScript(await loadScriptFile(scriptFile)) } : {}),
      });
    }
    const simulated = LOCAL_MODELS.filter((m) => !(useRef && m.preset === REFERENCE_MODEL));
    log(`starting ${simulated.reduce((n, m) => n + m.replicas, 0)} simulated backends…`);
    const started = await Promise.all(
      simulated.flatMap((m) => {
        const script = scriptFor(m.preset, opts.simScripts ?? {});
        const args = [...(opts.simArgs ?? []), ...(script ? ["--script", resolve(script)] : [])];
        return Array.from({ length: m.replicas }, () => spawnSimulator({ model: m.preset, args }));
      }),
    );
    sims.push(...started);
    const backends = [
      ...(ref && proxy ? [{ model: ref.model, url: proxy.url }] : []),
      ...sims.map((s) => ({ model: s.model, url: s.url })),
    ];
    const config = buildGatewayConfig({
      models: LOCAL_MODELS.map((m) => ({
        preset: m.preset,
        replicaUrls: backends.filter((b) => b.model === m.preset).map((b) => b.url),
      })),
      // Tiering's worked example: `model: "auto"` (README, Tiering).
      routers: [EXAMPLE_ROUTER],
    });
    const configPath = resolve(dataDir, "gateway.json");
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    log("starting the gateway…");
    const gatewayLog = createWriteStream(resolve(dataDir, "gateway.log"), { flags: "a" });
    gateway = await spawnGateway({
      configPath,
      onLogLine: (line) => gatewayLog.write(`${line}\n`),
      env: {
        GONKA_PORT: String(opts.port ?? 8080),
        GONKA_OPS_PORT: String(opts.opsPort ?? (opts.port === 0 ? 0 : 8081)),
        GONKA_ADMIN_KEY: adminKey,
        GONKA_DATA_DIR: dataDir,
        ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
      },
    });
    await waitUntilReady(gateway.url, gateway.opsUrl, config.models.length);
    const info: LocalStackInfo = {
      gatewayUrl: gateway.url,
      adminUrl: gateway.opsUrl,
      opsUrl: gateway.opsUrl,
      apiKey: await issueLocalKey(gateway.opsUrl, adminKey),
      adminKey,
      models: config.models.map((m) => m.id),
      backends,
      dataDir,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(localStackFile(dataDir), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    return { info, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The value of `--script FILE` (or `--script=FILE`) among simulator flags. */
function scriptFlag(args: readonly string[]): string | undefined {
  const at = args.indexOf("--script");
  if (at >= 0) return args[at + 1];
  return args.find((a) => a.startsWith("--script="))?.slice("--script=".length);
}

/**
 * Ready means `/readyz` answers 200 and the gateway has read every backend's
 * engine version (its first health probe round is over), so the first client
 * sees a complete `/gonka/info` and `/health/models`.
 */
async function waitUntilReady(
  gatewayUrl: string,
  opsUrl: string,
  models: number,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const ready = await fetch(`${gatewayUrl}/readyz`);
      const info = (await (await fetch(`${opsUrl}/gonka/info`)).json()) as {
        models: { backend_versions: string[] }[];
      };
      const known = info.models.filter((m) => m.backend_versions.length > 0).length;
      if (ready.status === 200 && known === models) return;
      last = `readyz ${ready.status}, ${known}/${models} backend versions known`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the gateway at ${gatewayUrl} did not become ready within ${timeoutMs} ms (${last})`);
}

const LOCAL_KEY_NAME = "local-stack";

/** A fresh key for this run; keys issued by earlier runs of the same data folder are revoked. */
async function issueLocalKey(adminUrl: string, adminKey: string): Promise<string> {
  const admin = adminClient(adminUrl, adminKey);
  const existing = (await admin("GET", "/admin/keys?status=active")) as {
    data: { id: string; name: string }[];
  };
  for (const key of existing.data.filter((k) => k.name === LOCAL_KEY_NAME)) {
    await admin("POST", `/admin/keys/${key.id}/revoke`);
  }
  const created = await admin("POST", "/admin/keys", { name: LOCAL_KEY_NAME, tier: "enterprise" });
  return created["secret"] as string;
}

function printBanner(info: LocalStackInfo): void {
  const lines = [
    "",
    "Gonka local stack is up.",
    `  gateway:   ${info.gatewayUrl}`,
    `  ops/admin: ${info.opsUrl} (metrics, /health/models, /gonka/info, /admin)`,
    `  admin key: ${info.adminKey}`,
    ...(info.apiKey ? [`  API key:   ${info.apiKey}`] : []),
    `  models:    ${info.models.join(", ")}`,
    `  details:   ${localStackFile(info.dataDir)}`,
    `  logs:      ${resolve(info.dataDir, "gateway.log")}`,
    "",
    "Try it:",
    `  curl -N ${info.gatewayUrl}/v1/chat/completions \\`,
    "    -H 'content-type: application/json' \\",
    ...(info.apiKey ? [`    -H 'authorization: Bearer ${info.apiKey}' \\`] : []),
    `    -d '{"model":"kimi-k2.5","stream":true,"messages":[{"role":"user","content":"Hello"}]}'`,
    "",
    "Ctrl-C stops everything.",
  ];
  console.log(lines.join("\n"));
}

/** `--backend sim|vllm-ref`. */
function backendFlag(argv: readonly string[]): "sim" | "vllm-ref" {
  const value = argv[argv.indexOf("--backend") + 1];
  if (value !== "sim" && value !== "vllm-ref")
    throw new Error(`--backend must be sim or vllm-ref, got ${value}`);
  return value;
}

async function main(): Promise<void> {
  const env = process.env;
  const stack = await startLocalStack({
    ...(env["GONKA_DATA_DIR"] ? { dataDir: env["GONKA_DATA_DIR"] } : {}),
    ...(env["GONKA_PORT"] ? { port: Number(env["GONKA_PORT"]) } : {}),
    ...(env["GONKA_OPS_PORT"] ? { opsPort: Number(env["GONKA_OPS_PORT"]) } : {}),
    ...(env["GONKA_ADMIN_KEY"] ? { adminKey: env["GONKA_ADMIN_KEY"] } : {}),
    ...(env["REDIS_URL"] ? { redisUrl: env["REDIS_URL"] } : {}),
    ...(process.argv.includes("--backend") ? { backend: backendFlag(process.argv) } : {}),
    simScripts: parseSimScriptEnv(env["GONKA_SIM_SCRIPT"]),
    log: (line) => console.log(line),
  });
  // Handlers first, banner last: "Ctrl-C stops everything" must be true the moment anyone can read
  // it. On a busy machine the reader (a user, a test) may run before this process's next line does;
  // a Ctrl-C then found Node's default handling and killed the stack without its stop line.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local stack…`);
    stack.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  printBanner(stack.info);
}

if (import.meta.main) {
  main().catch((err) => {
    console.error(`local stack failed to start: ${(err as Error).message}`);
    process.exit(1);
  });
}
