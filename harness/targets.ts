/**
 * One way for conformance, load tests and scenarios to say what they run against:
 *   --target local            the local stack (started for the run if not running)
 *   --target <pulumi stack>   `pulumi stack output --json --show-secrets -s <stack>`
 *   --base-url URL --api-key K [--admin-key A] [--admin-url U] [--ops-url U]   anything else
 * Environment fallbacks: GONKA_TARGET, GONKA_BASE_URL, GONKA_API_KEY, GONKA_ADMIN_KEY,
 * GONKA_ADMIN_URL, GONKA_OPS_URL, GONKA_DATA_DIR.
 * The gateway serves `/v1` on its API listener and the admin API, metrics, per-model health
 * and info on an operational one: `adminUrl` and `opsUrl` say where (locally both are the
 * operational listener; a stack exports them beside `gatewayUrl`).
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { adminClient } from "./adminClient.ts";
import { type LocalStackInfo, localStackFile, startLocalStack } from "./localStack.ts";

export interface Target {
  /** `local`, the stack name, or `url`. */
  readonly name: string;
  readonly baseUrl: string;
  /** Origin of the admin API (`${adminUrl}/admin/...`), where known. */
  readonly adminUrl: string | undefined;
  /** Origin of `/metrics`, `/health/models`, `/gonka/info`, where known. */
  readonly opsUrl: string | undefined;
  /** A key for `/v1` calls; undefined when the target has no key yet and no admin key to make one. */
  readonly apiKey: string | undefined;
  readonly adminKey: string | undefined;
  /** Model ids the target says it serves, where known. */
  readonly models: readonly string[];
  /** Stops what resolving the target started (the local stack), if anything. */
  close(): Promise<void>;
}

export interface TargetOptions {
  target?: string | undefined;
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  adminKey?: string | undefined;
  adminUrl?: string | undefined;
  opsUrl?: string | undefined;
  dataDir?: string | undefined;
  /** `--target local` starts the local stack when it is not running (default true). */
  startLocal?: boolean;
  /** Runs `pulumi`; injectable for tests. */
  pulumi?: (args: string[]) => Promise<string>;
  log?: (line: string) => void;
}

const run = promisify(execFile);

/** Reads `--target`, `--base-url`, `--api-key`, `--admin-key` from argv, falling back to the environment. */
export function targetOptionsFromArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): TargetOptions {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    return eq?.slice(name.length + 3);
  };
  return {
    target: flag("target") ?? env["GONKA_TARGET"],
    baseUrl: flag("base-url") ?? env["GONKA_BASE_URL"],
    apiKey: flag("api-key") ?? env["GONKA_API_KEY"],
    adminKey: flag("admin-key") ?? env["GONKA_ADMIN_KEY"],
    adminUrl: flag("admin-url") ?? env["GONKA_ADMIN_URL"],
    opsUrl: flag("ops-url") ?? env["GONKA_OPS_URL"],
    dataDir: env["GONKA_DATA_DIR"],
  };
}

export async function resolveTarget(opts: TargetOptions): Promise<Target> {
  const target = await resolveBase(opts);
  return target.apiKey || !target.adminKey ? target : withTemporaryKey(target, opts.log);
}

/**
 * A target that has an admin key but no API key gets one for the run, on the tier
 * with the most headroom, revoked again by `close()`.
 */
async function withTemporaryKey(target: Target, log?: (line: string) => void): Promise<Target> {
  if (!target.adminUrl) {
    throw new Error(
      `${target.name}: an admin key was given but no admin URL (--admin-url / GONKA_ADMIN_URL)`,
    );
  }
  const admin = adminClient(target.adminUrl, target.adminKey!);
  const tiers = (await admin("GET", "/admin/tiers"))["data"] as {
    name: string;
    requests_per_minute: number;
  }[];
  const roomiest = [...tiers].sort((a, b) => b.requests_per_minute - a.requests_per_minute)[0];
  if (!roomiest) throw new Error(`${target.name}: the gateway reports no tiers`);
  const created = await admin("POST", "/admin/keys", { name: `harness-${Date.now()}`, tier: roomiest.name });
  const key = created["key"] as { id: string };
  log?.(`created a temporary API key on tier ${roomiest.name} for this run`);
  return {
    ...target,
    apiKey: created["secret"] as string,
    async close() {
      await admin("POST", `/admin/keys/${key.id}/revoke`).catch(() => {});
      await target.close();
    },
  };
}

/**
 * The target's URLs and keys as given, without side effects beyond `startLocal`: no
 * temporary key is created (for read-only tools such as the usage view).
 */
export async function resolveEndpoints(opts: TargetOptions): Promise<Target> {
  return resolveBase(opts);
}

async function resolveBase(opts: TargetOptions): Promise<Target> {
  const none = async () => {};
  if (opts.baseUrl) {
    return {
      name: "url",
      baseUrl: opts.baseUrl.replace(/\/+$/, ""),
      adminUrl: origin(opts.adminUrl ?? opts.opsUrl),
      opsUrl: origin(opts.opsUrl ?? opts.adminUrl),
      apiKey: opts.apiKey,
      adminKey: opts.adminKey,
      models: [],
      close: none,
    };
  }
  const name = opts.target ?? "local";
  if (name === "local") return resolveLocal(opts);
  const pulumi =
    opts.pulumi ?? (async (args) => (await run("pulumi", args, { maxBuffer: 16 * 1024 * 1024 })).stdout);
  let text: string;
  try {
    text = await pulumi(["stack", "output", "--json", "--show-secrets", "-s", name]);
  } catch (err) {
    throw new Error(
      `cannot read outputs of Pulumi stack "${name}" (is the Pulumi CLI installed and logged in?): ${(err as Error).message}`,
    );
  }
  const outputs = JSON.parse(text) as Record<string, unknown>;
  const url = outputs["gatewayUrl"];
  if (typeof url !== "string") throw new Error(`stack "${name}" has no gatewayUrl output`);
  return {
    name,
    baseUrl: url.replace(/\/+$/, ""),
    adminUrl: origin(opts.adminUrl ?? stringOutput(outputs, "adminUrl")),
    opsUrl: origin(opts.opsUrl ?? stringOutput(outputs, "opsUrl")),
    apiKey: opts.apiKey ?? (typeof outputs["apiKey"] === "string" ? outputs["apiKey"] : undefined),
    adminKey: opts.adminKey ?? (typeof outputs["adminKey"] === "string" ? outputs["adminKey"] : undefined),
    models: Array.isArray(outputs["models"]) ? (outputs["models"] as unknown[]).map(modelName) : [],
    close: none,
  };
}

function origin(url: string | undefined): string | undefined {
  return url?.replace(/\/+$/, "");
}

function stringOutput(outputs: Record<string, unknown>, name: string): string | undefined {
  return typeof outputs[name] === "string" ? outputs[name] : undefined;
}

function modelName(m: unknown): string {
  if (typeof m === "string") return m;
  const o = m as Record<string, unknown>;
  return String(o["id"] ?? o["preset"] ?? o["name"]);
}

async function resolveLocal(opts: TargetOptions): Promise<Target> {
  const dataDir = resolve(opts.dataDir ?? ".gonka");
  const running = await readRunning(dataDir);
  if (running) {
    opts.log?.(`using the local stack at ${running.gatewayUrl}`);
    return fromLocal(running, opts, async () => {});
  }
  if (opts.startLocal === false) {
    throw new Error(
      `the local stack is not running (no live ${localStackFile(dataDir)}): start it with \`npm start\``,
    );
  }
  opts.log?.("starting the local stack for this run…");
  const stack = await startLocalStack({
    dataDir,
    port: 0,
    ...(opts.adminKey ? { adminKey: opts.adminKey } : {}),
  });
  return fromLocal(stack.info, opts, stack.stop);
}

function fromLocal(info: LocalStackInfo, opts: TargetOptions, close: () => Promise<void>): Target {
  return {
    name: "local",
    baseUrl: info.gatewayUrl!,
    adminUrl: info.adminUrl,
    opsUrl: info.opsUrl,
    apiKey: opts.apiKey ?? info.apiKey,
    adminKey: opts.adminKey ?? info.adminKey,
    models: info.models,
    close,
  };
}

/** The local stack described by local-stack.json, if its gateway still answers. */
async function readRunning(dataDir: string): Promise<LocalStackInfo | undefined> {
  const file = localStackFile(dataDir);
  if (!existsSync(file)) return undefined;
  let info: LocalStackInfo;
  try {
    info = JSON.parse(readFileSync(file, "utf8")) as LocalStackInfo;
  } catch {
    return undefined;
  }
  if (!info.gatewayUrl) return undefined;
  try {
    const res = await fetch(`${info.gatewayUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? info : undefined;
  } catch {
    return undefined;
  }
}
