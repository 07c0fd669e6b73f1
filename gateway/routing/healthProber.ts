import type { Logger } from "pino";
import { request } from "undici";
import type { ModelRegistry } from "./modelRegistry.ts";
import type { EngineStats, Replica } from "./replicaPool.ts";

const PROBE_TIMEOUT_MS = 2_000;

/**
 * Probes every replica's `/health` and scrapes its `/metrics` (plus dcgm-exporter
 * where configured) on an interval. Failed probes take a replica out of rotation;
 * a passing probe brings it back at once.
 */
export class HealthProber {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  private readonly registry: ModelRegistry;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private readonly headers: Record<string, string>;

  constructor(registry: ModelRegistry, intervalMs: number, log: Logger, engineApiKey?: string) {
    this.registry = registry;
    this.intervalMs = intervalMs;
    this.log = log;
    // vLLM leaves /health and /metrics open under --api-key; llama-server may not.
    this.headers = engineApiKey ? { authorization: `Bearer ${engineApiKey}` } : {};
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.running = this.probeAll().finally(() => {
        this.running = undefined;
      });
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async probeAll(): Promise<void> {
    await Promise.all(
      this.registry.pools.flatMap((p) => p.replicas.map((r) => this.probe(r, p.model.engine))),
    );
  }

  private async probe(replica: Replica, engine: "vllm" | "llamacpp"): Promise<void> {
    const wasHealthy = replica.probeHealthy;
    try {
      const res = await request(`${replica.url}/health`, {
        dispatcher: replica.pool,
        headers: this.headers,
        headersTimeout: PROBE_TIMEOUT_MS,
        bodyTimeout: PROBE_TIMEOUT_MS,
      });
      await res.body.dump();
      replica.markProbe(res.statusCode === 200, res.statusCode === 200 ? null : `health ${res.statusCode}`);
    } catch (err) {
      replica.markProbe(false, `health probe failed: ${(err as Error).message}`);
    }
    if (wasHealthy !== replica.probeHealthy) {
      this.log.warn(
        { replica: replica.id, healthy: replica.probeHealthy, reason: replica.lastError },
        "replica health changed",
      );
    }
    if (replica.probeHealthy) {
      replica.stats = await scrapeStats(replica, this.headers);
      replica.version ??= await engineVersion(replica, engine, this.headers);
    }
  }
}

async function scrapeStats(replica: Replica, headers: Record<string, string>): Promise<EngineStats | null> {
  try {
    const engine = await fetchText(`${replica.url}/metrics`, replica, headers);
    // Only dcgm-exporter reports GPU utilisation (vLLM's /metrics never does): without one, null.
    const gpu = replica.gpuMetricsUrl ? await fetchText(replica.gpuMetricsUrl).catch(() => null) : null;
    return {
      waiting:
        sumMetric(engine, "vllm:num_requests_waiting") ??
        sumMetric(engine, "llamacpp:requests_deferred") ??
        0,
      running:
        sumMetric(engine, "vllm:num_requests_running") ??
        sumMetric(engine, "llamacpp:requests_processing") ??
        0,
      kvCacheUsage:
        avgMetric(engine, "vllm:kv_cache_usage_perc") ?? avgMetric(engine, "vllm:gpu_cache_usage_perc"),
      gpuUtilization: gpu === null ? null : avgMetric(gpu, "DCGM_FI_DEV_GPU_UTIL"),
      scrapedAt: Date.now(),
    };
  } catch {
    return replica.stats;
  }
}

async function fetchText(url: string, replica?: Replica, headers?: Record<string, string>): Promise<string> {
  const res = await request(url, {
    ...(replica ? { dispatcher: replica.pool, headers } : {}),
    headersTimeout: PROBE_TIMEOUT_MS,
    bodyTimeout: PROBE_TIMEOUT_MS,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`${url}: ${res.statusCode}`);
  }
  return res.body.text();
}

/** Values of every sample of `name` in Prometheus text format (any labels). */
export function metricValues(text: string, name: string): number[] {
  const values: number[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const next = line.charAt(name.length);
    if (next !== "{" && next !== " ") continue;
    // `name{labels} value [timestamp]`: the value is the first token after the labels.
    const rest = next === "{" ? line.slice(line.indexOf("}", name.length) + 1) : line.slice(name.length);
    const value = Number(rest.trim().split(" ")[0]);
    if (Number.isFinite(value)) values.push(value);
  }
  return values;
}

function sumMetric(text: string, name: string): number | null {
  const v = metricValues(text, name);
  return v.length ? v.reduce((a, b) => a + b, 0) : null;
}

function avgMetric(text: string, name: string): number | null {
  const v = metricValues(text, name);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

async function engineVersion(
  replica: Replica,
  engine: "vllm" | "llamacpp",
  headers: Record<string, string>,
): Promise<string | null> {
  try {
    const body = JSON.parse(
      await fetchText(`${replica.url}${engine === "vllm" ? "/version" : "/props"}`, replica, headers),
    );
    const v = engine === "vllm" ? body.version : body.build_info;
    return typeof v === "string" ? `${engine} ${v}` : null;
  } catch {
    return null;
  }
}
