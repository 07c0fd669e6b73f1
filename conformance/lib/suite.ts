/**
 * What every case gets: the target's base URL and keys, an `openai` client, the
 * models the target lists (with capabilities), what `/gonka/info` reports, and
 * the admin client when there is an admin key. Built once per test file.
 */
import OpenAI from "openai";
import { AdminClient, type Feature, featureState, fetchInfo, type GonkaInfo, tierExtremes } from "./gonka.ts";

export type Capability = "chat" | "completions" | "tools" | "reasoning" | "embeddings" | "vision";

export interface ModelCard {
  id: string;
  capabilities: Capability[];
  /** True when capabilities came from the target, false when guessed from the name. */
  declared: boolean;
  /** `max_model_len` when the target lists it (vLLM and the gateway do). */
  contextLength?: number | undefined;
}

export interface SuiteContext {
  readonly baseUrl: string;
  /** Where `/metrics`, `/health/models` and `/gonka/info` are (the gateway's operational listener). */
  readonly opsUrl: string;
  /** The key `/v1` calls use: one the suite made on the most generous tier when it could, else the target's. */
  readonly apiKey: string | undefined;
  /** Id of the key the suite made for itself (admin usage is checked against it). */
  readonly ownKeyId: string | undefined;
  readonly client: OpenAI;
  readonly models: readonly ModelCard[];
  readonly info: GonkaInfo | undefined;
  readonly infoWhy: string;
  readonly admin: AdminClient | undefined;
  /** Models with a capability, K2.5 first when it has it. */
  modelsWith(cap: Capability): string[];
  /** Whether the target offers a feature, with the reason to print when not. */
  feature(name: Feature): { on: boolean; reason: string };
  /** `fetch` against the target with the suite's key (pass `auth: false` to send none). */
  raw(path: string, init?: RawInit): Promise<Response>;
  /** `raw` against the operational listener. */
  ops(path: string, init?: RawInit): Promise<Response>;
  /** A client with another key (or none) and no retries, for error cases. */
  clientWith(apiKey: string | undefined): OpenAI;
  close(): Promise<void>;
}

export interface RawInit {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  auth?: boolean | string;
  /** Whole request, body included (default 60 s); long generations pass their case's budget. */
  timeoutMs?: number;
}

export interface SuiteOptions {
  baseUrl: string;
  /** The admin API's origin; without it (or an admin key) admin cases skip. */
  adminUrl?: string | undefined;
  /** The operational listener's origin; defaults to `baseUrl` (targets that serve everything on one port). */
  opsUrl?: string | undefined;
  apiKey?: string | undefined;
  adminKey?: string | undefined;
  /** Make a key for the suite through the admin API when the target has keys (default true). */
  ownKey?: boolean;
  log?: (line: string) => void;
}

/** K2.5 first: the milestone's model gets every case a capability allows. */
const PREFERRED = ["kimi-k2.5"];

/** Capabilities from the name, for targets (a bare vLLM, the simulator) that do not declare them. */
export function guessCapabilities(id: string): Capability[] {
  const name = id.toLowerCase();
  if (/embed|bge|e5-|minilm/.test(name)) return ["embeddings"];
  const caps: Capability[] = ["chat", "completions"];
  if (/kimi|deepseek|qwen|llama|mistral|gpt|glm/.test(name)) caps.push("tools");
  if (/kimi|deepseek|qwen3|r1|glm/.test(name)) caps.push("reasoning");
  return caps;
}

export async function createSuite(opts: SuiteOptions): Promise<SuiteContext> {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const log = opts.log ?? (() => {});
  const opsUrl = (opts.opsUrl ?? baseUrl).replace(/\/+$/, "");
  const { info, why } = await fetchInfo(opsUrl, opts.apiKey);
  const feature = (name: Feature) => featureState(info, why, name);
  const admin =
    opts.adminKey && opts.adminUrl
      ? new AdminClient(opts.adminUrl.replace(/\/+$/, ""), opts.adminKey)
      : undefined;

  let apiKey = opts.apiKey;
  let ownKeyId: string | undefined;
  if (opts.ownKey !== false && admin && feature("api_keys").on && feature("admin").on) {
    const { highest } = tierExtremes(await admin.tiers());
    const key = await admin.createKey("conformance-suite", highest.name);
    apiKey = key.secret;
    ownKeyId = key.id;
    log(`conformance: using a suite key on tier "${highest.name}"`);
  }

  const clientWith = (key: string | undefined, maxRetries = 0) =>
    new OpenAI({
      baseURL: `${baseUrl}/v1`,
      // The client insists on a key; a placeholder is what "no key" looks like for targets without auth.
      apiKey: key ?? "no-key",
      maxRetries,
      timeout: 60_000,
      ...(key ? {} : { defaultHeaders: { authorization: null } }),
    });
  const client = clientWith(apiKey, 2);

  const listed = await client.models.list();
  const models: ModelCard[] = listed.data.map((m) => {
    const extra = m as unknown as { capabilities?: Capability[]; max_model_len?: number };
    const contextLength = typeof extra.max_model_len === "number" ? extra.max_model_len : undefined;
    return Array.isArray(extra.capabilities)
      ? { id: m.id, capabilities: extra.capabilities, declared: true, contextLength }
      : { id: m.id, capabilities: guessCapabilities(m.id), declared: false, contextLength };
  });

  const request = (origin: string, path: string, init: RawInit = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const key = typeof init.auth === "string" ? init.auth : init.auth === false ? undefined : apiKey;
    if (key) headers["authorization"] = `Bearer ${key}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
      headers["content-type"] ??= "application/json";
    }
    return fetch(`${origin}${path}`, {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
    });
  };

  return {
    baseUrl,
    opsUrl,
    apiKey,
    ownKeyId,
    client,
    models,
    info,
    infoWhy: why,
    admin,
    modelsWith(cap) {
      const ids = models.filter((m) => m.capabilities.includes(cap)).map((m) => m.id);
      return [...ids.filter((id) => PREFERRED.includes(id)), ...ids.filter((id) => !PREFERRED.includes(id))];
    },
    feature,
    raw: (path, init) => request(baseUrl, path, init),
    ops: (path, init) => request(opsUrl, path, init),
    clientWith: (key) => clientWith(key, 0),
    async close() {
      const failures = (await admin?.revokeIssued()) ?? [];
      if (failures.length) throw new Error(`could not revoke suite keys: ${failures.join("; ")}`);
    },
  };
}
