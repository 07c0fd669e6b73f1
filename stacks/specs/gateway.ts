/**
 * Gateway specs. The config comes from `buildGatewayConfig`, the same function the
 * local stack uses, fed with the service addresses of the models this stack
 * deployed. The start command is the local stack's, so one image runs both.
 */
import { createHash } from "node:crypto";
import { getPreset } from "../../catalog/index.ts";
import { buildGatewayConfig, type DeployedModel } from "../../gateway/config/fromCatalog.ts";
import { parseConfig } from "../../gateway/config/load.ts";
import type { GatewayConfigInput, TierConfig } from "../../gateway/config/schema.ts";
import type { RouterConfigInput } from "../../gateway/tiering/schema.ts";

export const GATEWAY_CONFIG_DIR = "/etc/gonka";
export const GATEWAY_CONFIG_PATH = `${GATEWAY_CONFIG_DIR}/gateway.json`;
export const GATEWAY_DATA_DIR = "/var/lib/gonka";
/** Same command as the local stack and the image's CMD (asserted by a test). */
export const GATEWAY_COMMAND = ["node", "gateway/main.ts", "--config", GATEWAY_CONFIG_PATH] as const;
/** Non-root uid baked into images/gateway/Dockerfile. */
export const GATEWAY_UID = 10001;
/** The gateway's ops listener (`/metrics`, `/health/models`, `/gonka/info`, `/admin/*`); never on the Ingress. */
export const OPS_PORT = 8081;

/** A deployed model; on Kubernetes with the headless Service its pods are discovered from. */
export interface StackModel extends DeployedModel {
  readonly discovery?: { readonly namespace: string; readonly service: string };
}

export interface GatewayConfigArgs {
  readonly models: readonly StackModel[];
  readonly port: number;
  /**
   * Address the ops listener binds: 0.0.0.0 inside a pod (the Service exposes it in-cluster,
   * the Ingress does not); on a Docker host (host networking) its private address or loopback.
   */
  readonly opsHost: string;
  readonly tiers?: Record<string, TierConfig>;
  readonly reasoningOutput?: "both" | "reasoning" | "reasoning_content";
  /** Router aliases (tiering); checked against the models by the gateway's own schema. */
  readonly routers?: readonly RouterConfigInput[];
}

export function gatewayConfig(args: GatewayConfigArgs): GatewayConfigInput {
  const base = buildGatewayConfig({
    models: args.models,
    // Inside a container the gateway must listen on all interfaces, not loopback.
    listen: { host: "0.0.0.0", port: args.port },
    ...(args.tiers ? { tiers: args.tiers } : {}),
    ...(args.reasoningOutput ? { reasoningOutput: args.reasoningOutput } : {}),
    ...(args.routers ? { routers: args.routers } : {}),
  });
  const discoveryById = new Map(
    args.models.flatMap((m) => (m.discovery ? [[getPreset(m.preset).id, m.discovery] as const] : [])),
  );
  const config: GatewayConfigInput = {
    ...base,
    // Kubernetes: each ready pod of the model's headless Service is a replica (balancing,
    // affinity, failover per pod), instead of the one `-api` Service URL.
    models: base.models.map((m) => {
      const d = discoveryById.get(m.id);
      if (!d) return m;
      const { replicas: _serviceUrl, ...rest } = m;
      return {
        ...rest,
        discovery: { kind: "kubernetes", namespace: d.namespace, service: d.service, portName: "http" },
      };
    }),
    opsListen: { host: args.opsHost, port: OPS_PORT },
  };
  parseConfig(config, "generated gateway config");
  return config;
}

/** Stable JSON (sorted keys) so an unchanged config never restarts the gateway. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  return value;
}

export function configChecksum(json: string): string {
  return createHash("sha256").update(json).digest("hex").slice(0, 16);
}

/** Env the gateway reads besides its secrets (GONKA_ADMIN_KEY, GONKA_ENGINE_API_KEY, REDIS_URL). */
export function gatewayEnv(port: number): Record<string, string> {
  return {
    GONKA_PORT: String(port),
    GONKA_DATA_DIR: GATEWAY_DATA_DIR,
    NODE_ENV: "production",
  };
}

/** Secret keys the gateway reads, and the env var each one lands in. */
export const GATEWAY_SECRET_ENV = {
  adminKey: "GONKA_ADMIN_KEY",
  engineApiKey: "GONKA_ENGINE_API_KEY",
  redisUrl: "REDIS_URL",
} as const;

/** The gateway's Postgres URL (unset: its embedded SQLite file in GONKA_DATA_DIR). Always from a secret. */
export const DATABASE_URL_ENV = "GONKA_DATABASE_URL";

export const GATEWAY_LABELS = { "app.kubernetes.io/name": "gonka-gateway" };
const labels = GATEWAY_LABELS;

/** `http` is what the Ingress routes to; `ops` is reachable in-cluster (Prometheus, port-forward) only. */
export function gatewayServiceSpec(namespace: string, port: number) {
  return {
    metadata: { name: "gonka-gateway", namespace, labels },
    spec: {
      selector: labels,
      ports: [
        { name: "http", port, targetPort: port },
        { name: "ops", port: OPS_PORT, targetPort: OPS_PORT },
      ],
    },
  };
}

export function gatewayIngressSpec(namespace: string, domain: string, className: string) {
  const backend = { service: { name: "gonka-gateway", port: { name: "http" } } };
  return {
    metadata: {
      name: "gonka-gateway",
      namespace,
      labels,
      annotations: {
        // Streams (SSE) must flow token by token and may stay open for minutes.
        "nginx.ingress.kubernetes.io/proxy-buffering": "off",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-body-size": "16m",
      },
    },
    spec: {
      ingressClassName: className,
      tls: [{ hosts: [domain], secretName: "gonka-gateway-tls" }],
      rules: [
        {
          host: domain,
          http: {
            // Only the public API: /admin, /metrics and the rest live on the ops port, which
            // no path here reaches.
            paths: [
              { path: "/v1", pathType: "Prefix", backend },
              { path: "/healthz", pathType: "Exact", backend },
            ],
          },
        },
      ],
    },
  };
}
