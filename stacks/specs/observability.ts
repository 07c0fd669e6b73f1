/**
 * GPU metrics and the dashboard. dcgm-exporter reports DCGM_FI_DEV_GPU_UTIL, which
 * the gateway's per-model health (SERV-08) reads next to vLLM's own /metrics.
 */
import { DCGM_EXPORTER_IMAGE } from "./images.ts";

export const DCGM_PORT = 9400;
const labels = { "app.kubernetes.io/name": "dcgm-exporter" };

export interface DcgmInput {
  readonly namespace: string;
  /**
   * One term per GPU node selector of the stack (terms are ORed): the exporter runs wherever a
   * model may run, on labels the stack's own config names rather than ones nothing may set.
   */
  readonly gpuNodeSelectorTerms: readonly Readonly<Record<string, string>>[];
  readonly tolerations: readonly object[];
}

/** Node affinity that matches any node carrying every label of one of the selectors. */
export function anyOfSelectors(terms: readonly Readonly<Record<string, string>>[]) {
  if (terms.length === 0) return undefined;
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: terms.map((t) => ({
          matchExpressions: Object.entries(t).map(([key, value]) => ({
            key,
            operator: "In",
            values: [value],
          })),
        })),
      },
    },
  };
}

/**
 * One exporter per GPU node; it sees the node's GPUs through the NVIDIA runtime, not
 * privileges. Security context as upstream's dcgm-exporter.yaml: root with SYS_ADMIN only
 * (DCGM's profiling metrics and the kubelet pod-resources socket for per-pod attribution).
 */
export function dcgmDaemonSetSpec(input: DcgmInput) {
  const affinity = anyOfSelectors(input.gpuNodeSelectorTerms);
  return {
    metadata: { name: "dcgm-exporter", namespace: input.namespace, labels },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(DCGM_PORT),
            "prometheus.io/path": "/metrics",
          },
        },
        spec: {
          ...(affinity ? { affinity } : {}),
          tolerations: input.tolerations.map((t) => ({ ...t })),
          containers: [
            {
              name: "dcgm-exporter",
              image: DCGM_EXPORTER_IMAGE,
              env: [
                { name: "DCGM_EXPORTER_KUBERNETES", value: "true" },
                { name: "DCGM_EXPORTER_LISTEN", value: `:${DCGM_PORT}` },
                { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                // Expose all GPUs of the node without claiming them from the device plugin.
                { name: "NVIDIA_VISIBLE_DEVICES", value: "all" },
              ],
              ports: [{ name: "metrics", containerPort: DCGM_PORT }],
              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
              readinessProbe: { httpGet: { path: "/health", port: DCGM_PORT }, periodSeconds: 15 },
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                runAsNonRoot: false,
                runAsUser: 0,
                capabilities: { add: ["SYS_ADMIN"], drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "pod-resources", mountPath: "/var/lib/kubelet/pod-resources", readOnly: true },
              ],
            },
          ],
          volumes: [{ name: "pod-resources", hostPath: { path: "/var/lib/kubelet/pod-resources" } }],
        },
      },
    },
  };
}

export function dcgmServiceSpec(namespace: string) {
  return {
    metadata: {
      name: "dcgm-exporter",
      namespace,
      labels,
      annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(DCGM_PORT) },
    },
    spec: { selector: labels, ports: [{ name: "metrics", port: DCGM_PORT, targetPort: DCGM_PORT }] },
  };
}

/** Docker target: one exporter per GPU host, published on DCGM_PORT at the private address (or loopback). */
export function dcgmDockerSpec(host: string, bindAddress: string) {
  return {
    name: `gonka-dcgm-exporter-${host}`,
    image: DCGM_EXPORTER_IMAGE,
    deviceRequests: [{ driver: "nvidia", count: -1, capabilities: ["gpu"] }],
    ports: [{ internal: DCGM_PORT, external: DCGM_PORT, ip: bindAddress }],
    restart: "unless-stopped",
    privileged: false,
    memory: 512,
  };
}

interface Panel {
  readonly title: string;
  readonly expr: string;
  readonly unit: string;
}

const PANELS: readonly Panel[] = [
  { title: "Queue depth per model", expr: "sum by (model_name) (vllm:num_requests_waiting)", unit: "short" },
  {
    title: "Running requests per model",
    expr: "sum by (model_name) (vllm:num_requests_running)",
    unit: "short",
  },
  {
    title: "KV-cache use per model",
    expr: "avg by (model_name) (vllm:kv_cache_usage_perc)",
    unit: "percentunit",
  },
  {
    title: "Time to first token p95",
    expr: "histogram_quantile(0.95, sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket[5m])))",
    unit: "s",
  },
  {
    title: "Inter-token latency p95",
    expr: "histogram_quantile(0.95, sum by (le, model_name) (rate(vllm:inter_token_latency_seconds_bucket[5m])))",
    unit: "s",
  },
  { title: "GPU utilisation", expr: "avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)", unit: "percent" },
  {
    title: "Gateway requests/s by model and status",
    expr: "sum by (model, status) (rate(gonka_requests_total[5m]))",
    unit: "reqps",
  },
  {
    title: "Gateway request latency p95",
    expr: "histogram_quantile(0.95, sum by (le, model) (rate(gonka_request_duration_seconds_bucket[5m])))",
    unit: "s",
  },
  {
    title: "Tokens/s by model and kind",
    expr: "sum by (model, kind) (rate(gonka_tokens_total[5m]))",
    unit: "short",
  },
  { title: "Healthy replicas per model", expr: "sum by (model) (gonka_replica_healthy)", unit: "short" },
];

/** Grafana dashboard JSON; a sidecar picks up ConfigMaps labelled `grafana_dashboard`. */
export function dashboardJson(models: readonly string[]): string {
  const dashboard = {
    title: "Gonka inference",
    uid: "gonka-inference",
    schemaVersion: 39,
    tags: ["gonka"],
    templating: {
      list: [{ name: "model", type: "custom", query: models.join(","), multi: true, includeAll: true }],
    },
    panels: PANELS.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: [{ expr: p.expr, refId: "A" }],
    })),
  };
  return JSON.stringify(dashboard, null, 2);
}
