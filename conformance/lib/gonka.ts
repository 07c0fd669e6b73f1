/**
 * Gonka's own endpoints as the suite sees them: `/gonka/info` (what the target
 * offers, so cases skip only when a feature is reported off) and the admin API
 * (keys the suite makes for itself, tiers, usage).
 */

export const FEATURES = [
  "api_keys",
  "rate_limits",
  "admin",
  "sessions",
  "memory",
  "async_jobs",
  "tiering",
  "webhooks",
] as const;
export type Feature = (typeof FEATURES)[number];

export interface GonkaInfo {
  object: "gonka.info";
  version: string;
  features: Partial<Record<Feature, boolean>>;
  /** The gateway reports `backend_versions` (one per distinct replica version); `backend_version` is accepted too. */
  models: Array<{ id: string; engine?: string; backend_version?: string; backend_versions?: string[] }>;
  /** Router aliases (tiering), when the target has any. */
  routers?: Array<{ alias: string; rules: string[]; default: string }>;
}

/** `/gonka/info`, or why there is none (a gateway from before it existed answers 404). */
export async function fetchInfo(
  baseUrl: string,
  apiKey: string | undefined,
): Promise<{ info: GonkaInfo | undefined; why: string }> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/gonka/info`, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    return { info: undefined, why: `GET /gonka/info failed: ${(err as Error).message}` };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { info: undefined, why: `the target answers GET /gonka/info with HTTP ${res.status}` };
  }
  const body = (await res.json()) as GonkaInfo;
  return { info: body, why: "" };
}

/** Whether the target reports `feature` on, and if not, the reason a skipped case prints. */
export function featureState(
  info: GonkaInfo | undefined,
  infoWhy: string,
  feature: Feature,
): { on: boolean; reason: string } {
  if (!info) return { on: false, reason: `feature "${feature}" unknown: ${infoWhy}` };
  if (info.features?.[feature] === true) return { on: true, reason: "" };
  return {
    on: false,
    reason: `/gonka/info reports features.${feature} = ${String(info.features?.[feature])}`,
  };
}

export interface Tier {
  name: string;
  requestsPerMinute: number;
  tokensPerMinute: number;
  concurrentRequests: number;
}

export interface IssuedKey {
  id: string;
  secret: string;
}

/** The admin API, authenticated with the admin key. Every failure names the request. */
export class AdminClient {
  readonly baseUrl: string;
  readonly adminKey: string;
  readonly #issued: string[] = [];

  constructor(baseUrl: string, adminKey: string) {
    this.baseUrl = baseUrl;
    this.adminKey = adminKey;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`admin ${method} ${path} → HTTP ${res.status}: ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Tiers, from either snake_case (what the gateway sends) or camelCase field names. */
  async tiers(): Promise<Tier[]> {
    const body = await this.call<{ data: Record<string, unknown>[] }>("GET", "/admin/tiers");
    const num = (t: Record<string, unknown>, snake: string, camel: string) => Number(t[snake] ?? t[camel]);
    return body.data.map((t) => {
      const tier = {
        name: String(t["name"]),
        requestsPerMinute: num(t, "requests_per_minute", "requestsPerMinute"),
        tokensPerMinute: num(t, "tokens_per_minute", "tokensPerMinute"),
        concurrentRequests: num(t, "concurrent_requests", "concurrentRequests"),
      };
      if (!Number.isFinite(tier.requestsPerMinute) || !Number.isFinite(tier.concurrentRequests)) {
        throw new Error(`GET /admin/tiers: tier ${tier.name} has no numeric requests/minute or concurrency`);
      }
      return tier;
    });
  }

  /** A key the suite revokes in `revokeIssued()`. */
  async createKey(name: string, tier: string, models?: string[]): Promise<IssuedKey> {
    const body = await this.call<{ key: { id: string }; secret: string }>("POST", "/admin/keys", {
      name,
      tier,
      ...(models ? { models } : {}),
    });
    this.#issued.push(body.key.id);
    return { id: body.key.id, secret: body.secret };
  }

  async revoke(id: string): Promise<void> {
    await this.call("POST", `/admin/keys/${encodeURIComponent(id)}/revoke`);
  }

  /** Revokes every key this client made; returns the failures rather than hiding them. */
  async revokeIssued(): Promise<string[]> {
    const ids = this.#issued.splice(0);
    const results = await Promise.allSettled(ids.map((id) => this.revoke(id)));
    return results.flatMap((r, i) => (r.status === "rejected" ? [`${ids[i]}: ${String(r.reason)}`] : []));
  }
}

/** Tier with the lowest requests/minute (for provoking a 429 cheaply) and the highest (for the suite's own key). */
export function tierExtremes(tiers: readonly Tier[]): { lowest: Tier; highest: Tier } {
  if (tiers.length === 0) throw new Error("GET /admin/tiers listed no tiers");
  const sorted = [...tiers].sort((a, b) => a.requestsPerMinute - b.requestsPerMinute);
  return { lowest: sorted[0]!, highest: sorted.at(-1)! };
}
