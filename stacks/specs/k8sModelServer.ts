/**
 * Kubernetes specs for one model: a Deployment for single-node layouts, a
 * LeaderWorkerSet for multi-node ones (leader = rank 0 serves HTTP, workers run
 * headless), and a Service in front of the leaders. Plain objects, deterministic.
 */
import type { Layout, ModelPreset } from "../../catalog/index.ts";
import {
  ENGINE_PORT,
  engineCommand,
  engineEnv,
  engineResources,
  HEALTH_PATH,
  STARTUP_BUDGET_SECONDS,
  STARTUP_PERIOD_SECONDS,
  shmGiB,
  WEIGHTS_MOUNT,
} from "./engine.ts";

export interface Toleration {
  readonly key: string;
  readonly operator: "Exists" | "Equal";
  readonly value?: string;
  readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface K8sModelInput {
  readonly preset: ModelPreset;
  readonly layout: Layout;
  readonly replicas: number;
  readonly maxModelLen?: number;
  readonly image: string;
  readonly namespace: string;
  /** PVC holding the staged weights. */
  readonly weightsClaim: string;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Toleration[];
}

/** DNS-safe name for a preset (`kimi-k2.5` → `kimi-k2-5`). */
export function k8sName(presetId: string): string {
  return presetId.toLowerCase().replace(/[^a-z0-9-]/g, "-");
}

/** Label values may contain dots, so the model label carries the exact catalog id. */
export function modelLabels(presetId: string): Record<string, string> {
  return { "app.kubernetes.io/name": "model-server", "gonka.ai/model": presetId };
}

/** LWS injects these into every pod of a group; Kubernetes expands `$(VAR)` in args. */
const LWS_LEADER_ADDRESS = "$(LWS_LEADER_ADDRESS)";
const LWS_WORKER_INDEX = "$(LWS_WORKER_INDEX)";

function httpProbe(periodSeconds: number, failureThreshold: number) {
  return {
    httpGet: { path: HEALTH_PATH, port: ENGINE_PORT },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 5,
  };
}

/** Pod spec for one engine process; `role` decides the command line and whether HTTP probes apply. */
export function enginePodSpec(input: K8sModelInput, role: "single" | "leader" | "worker") {
  const { preset, layout } = input;
  const multi = role !== "single";
  let command = engineCommand({
    preset,
    layout,
    port: ENGINE_PORT,
    ...(input.maxModelLen ? { maxModelLen: input.maxModelLen } : {}),
    ...(multi ? { nodeRank: role === "leader" ? 0 : 1, leaderAddress: LWS_LEADER_ADDRESS } : {}),
  });
  // Groups larger than two take each worker's rank from LWS rather than the fixed 1.
  if (role === "worker" && layout.nodes > 2) {
    const i = command.indexOf("--node-rank");
    command = command.map((a, j) => (j === i + 1 ? LWS_WORKER_INDEX : a));
  }
  const res = engineResources(layout);
  const gpus = String(layout.gpusPerNode);
  const serves = role !== "worker";
  return {
    containers: [
      {
        name: "engine",
        image: input.image,
        command,
        env: Object.entries(engineEnv(preset)).map(([name, value]) => ({ name, value })),
        ports: serves ? [{ name: "http", containerPort: ENGINE_PORT }] : [],
        resources: {
          requests: { cpu: String(res.cpu), memory: `${res.memoryGiB}Gi`, "nvidia.com/gpu": gpus },
          limits: { "nvidia.com/gpu": gpus, memory: `${res.memoryGiB}Gi` },
        },
        volumeMounts: [
          { name: "weights", mountPath: WEIGHTS_MOUNT, readOnly: true },
          { name: "dshm", mountPath: "/dev/shm" },
        ],
        securityContext: { privileged: false, allowPrivilegeEscalation: false },
        ...(serves
          ? {
              // Loading weights takes long; liveness must not kill a pod that is still loading.
              startupProbe: httpProbe(
                STARTUP_PERIOD_SECONDS,
                Math.ceil(STARTUP_BUDGET_SECONDS / STARTUP_PERIOD_SECONDS),
              ),
              readinessProbe: httpProbe(10, 3),
              livenessProbe: httpProbe(30, 5),
            }
          : {}),
      },
    ],
    volumes: [
      { name: "weights", persistentVolumeClaim: { claimName: input.weightsClaim, readOnly: true } },
      { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: `${shmGiB(layout)}Gi` } },
    ],
    nodeSelector: { ...input.nodeSelector },
    tolerations: input.tolerations.map((t) => ({ ...t })),
    terminationGracePeriodSeconds: 60,
  };
}

function podMetadata(input: K8sModelInput, extra: Record<string, string> = {}) {
  return {
    labels: { ...modelLabels(input.preset.id), ...extra },
    annotations: {
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(ENGINE_PORT),
      "prometheus.io/path": "/metrics",
    },
  };
}

/** Single-node layouts: a plain Deployment; rolling updates start the new pod before dropping the old. */
export function deploymentSpec(input: K8sModelInput) {
  if (input.layout.nodes !== 1)
    throw new Error(`${input.preset.id}: multi-node layouts need a LeaderWorkerSet`);
  const name = k8sName(input.preset.id);
  return {
    metadata: { name, namespace: input.namespace, labels: modelLabels(input.preset.id) },
    spec: {
      replicas: input.replicas,
      selector: { matchLabels: modelLabels(input.preset.id) },
      // GPUs are scarce: replace in place rather than needing a spare node's worth.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      template: { metadata: podMetadata(input), spec: enginePodSpec(input, "single") },
    },
  };
}

/** Multi-node layouts: one LWS group per replica, `size` = nodes. */
export function leaderWorkerSetSpec(input: K8sModelInput) {
  if (input.layout.nodes < 2) throw new Error(`${input.preset.id}: single-node layouts use a Deployment`);
  const name = k8sName(input.preset.id);
  return {
    apiVersion: "leaderworkerset.x-k8s.io/v1",
    kind: "LeaderWorkerSet",
    metadata: { name, namespace: input.namespace, labels: modelLabels(input.preset.id) },
    spec: {
      replicas: input.replicas,
      startupPolicy: "LeaderCreated",
      leaderWorkerTemplate: {
        size: input.layout.nodes,
        // A lost worker breaks the whole pipeline; restart the group together.
        restartPolicy: "RecreateGroupOnPodRestart",
        leaderTemplate: {
          metadata: podMetadata(input, { "gonka.ai/role": "leader" }),
          spec: enginePodSpec(input, "leader"),
        },
        workerTemplate: {
          metadata: podMetadata(input, { "gonka.ai/role": "worker" }),
          spec: enginePodSpec(input, "worker"),
        },
      },
    },
  };
}

/** Service the gateway talks to; for LWS it selects leaders only (workers serve no HTTP). */
export function modelServiceSpec(input: K8sModelInput) {
  const selector: Record<string, string> = modelLabels(input.preset.id);
  if (input.layout.nodes > 1) selector["gonka.ai/role"] = "leader";
  return {
    metadata: {
      name: k8sName(input.preset.id),
      namespace: input.namespace,
      labels: modelLabels(input.preset.id),
    },
    spec: { selector, ports: [{ name: "http", port: ENGINE_PORT, targetPort: ENGINE_PORT }] },
  };
}

export function serviceUrl(name: string, namespace: string, port: number): string {
  return `http://${name}.${namespace}.svc.cluster.local:${port}`;
}
