/**
 * Kubernetes specs for one model: a Deployment for single-node layouts, a
 * LeaderWorkerSet for multi-node ones (leader = rank 0 serves HTTP, workers run
 * headless), and a Service in front of the leaders. Plain objects, deterministic.
 */
import type { Layout, ModelPreset } from "../../catalog/index.ts";
import {
  ENGINE_PORT,
  engineArgs,
  engineEnv,
  engineKeyEnvName,
  engineResources,
  fabricEnv,
  HEALTH_PATH,
  HF_CACHE_MOUNT,
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
  /** Secret holding the engine API key under `apiKey`; only the gateway holds the same key. */
  readonly engineKeySecret: string;
  /** Multi-node layouts: the RDMA fabric between the nodes of a group (absent: plain TCP). */
  readonly fabric?: K8sFabric;
  /** RuntimeClass for GPU pods (`nvidia` with the GPU operator); absent: the node's default runtime. */
  readonly runtimeClassName?: string;
}

/** How the nodes of a multi-node group reach each other over InfiniBand / RoCE. */
export interface K8sFabric {
  /** Extended resource of the RDMA device plugin (NVIDIA network operator, SR-IOV). */
  readonly rdmaResource: string;
  readonly ibHca: string;
  readonly socketIfname: string;
  /** LWS places a group's pods in one domain of this topology key. */
  readonly exclusiveTopology: string;
}

export const LWS_EXCLUSIVE_TOPOLOGY = "leaderworkerset.sigs.k8s.io/exclusive-topology";

/** DNS-safe name for a preset (`kimi-k2.5` → `kimi-k2-5`). */
export function k8sName(presetId: string): string {
  return presetId.toLowerCase().replace(/[^a-z0-9-]/g, "-");
}

/**
 * Name of the Service the gateway calls. Never the workload's own name: the LeaderWorkerSet
 * controller creates its headless Service (the pods' DNS, `$(LWS_LEADER_ADDRESS)`) under the
 * LWS name, and only if that name is free.
 */
export function modelServiceName(presetId: string): string {
  return `${k8sName(presetId)}-api`;
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
  let args = engineArgs({
    preset,
    layout,
    port: ENGINE_PORT,
    ...(input.maxModelLen ? { maxModelLen: input.maxModelLen } : {}),
    ...(multi ? { nodeRank: role === "leader" ? 0 : 1, leaderAddress: LWS_LEADER_ADDRESS } : {}),
  });
  // Groups larger than two take each worker's rank from LWS rather than the fixed 1.
  if (role === "worker" && layout.nodes > 2) {
    const i = args.indexOf("--node-rank");
    args = args.map((a, j) => (j === i + 1 ? LWS_WORKER_INDEX : a));
  }
  const res = engineResources(preset, layout);
  const gpus = String(layout.gpusPerNode);
  const serves = role !== "worker";
  const fabric = multi ? input.fabric : undefined;
  const rdma = fabric ? { [fabric.rdmaResource]: "1" } : {};
  const env = { ...engineEnv(preset), ...(fabric ? fabricEnv(fabric) : {}) };
  return {
    ...(input.runtimeClassName ? { runtimeClassName: input.runtimeClassName } : {}),
    containers: [
      {
        name: "engine",
        image: input.image,
        // Arguments only: the image's ENTRYPOINT (`vllm serve`, `/app/llama-server`) runs them.
        args,
        env: [
          ...Object.entries(env).map(([name, value]) => ({ name, value })),
          {
            name: engineKeyEnvName(preset),
            valueFrom: { secretKeyRef: { name: input.engineKeySecret, key: "apiKey" } },
          },
        ],
        ports: serves ? [{ name: "http", containerPort: ENGINE_PORT }] : [],
        resources: {
          requests: { cpu: String(res.cpu), memory: `${res.memoryGiB}Gi`, "nvidia.com/gpu": gpus, ...rdma },
          limits: { "nvidia.com/gpu": gpus, memory: `${res.memoryGiB}Gi`, ...rdma },
        },
        volumeMounts: [
          { name: "weights", mountPath: WEIGHTS_MOUNT, readOnly: true },
          { name: "hf-cache", mountPath: HF_CACHE_MOUNT },
          { name: "dshm", mountPath: "/dev/shm" },
        ],
        securityContext: {
          privileged: false,
          allowPrivilegeEscalation: false,
          // RDMA registers (pins) GPU and host memory: needs IPC_LOCK, not privileges.
          ...(fabric ? { capabilities: { add: ["IPC_LOCK"] } } : {}),
        },
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
      { name: "hf-cache", emptyDir: {} },
      { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: `${shmGiB(layout)}Gi` } },
    ],
    nodeSelector: { ...input.nodeSelector },
    tolerations: input.tolerations.map((t) => ({ ...t })),
    terminationGracePeriodSeconds: 60,
  };
}

/** Scrape annotations only where an engine serves HTTP: LWS workers run headless, with no port. */
function podMetadata(input: K8sModelInput, serves: boolean, extra: Record<string, string> = {}) {
  return {
    labels: { ...modelLabels(input.preset.id), ...extra },
    ...(serves
      ? {
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(ENGINE_PORT),
            "prometheus.io/path": "/metrics",
          },
        }
      : {}),
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
      template: { metadata: podMetadata(input, true), spec: enginePodSpec(input, "single") },
    },
  };
}

/** Multi-node layouts: one LWS group per replica, `size` = nodes. */
export function leaderWorkerSetSpec(input: K8sModelInput) {
  if (input.layout.nodes < 2) throw new Error(`${input.preset.id}: single-node layouts use a Deployment`);
  const name = k8sName(input.preset.id);
  // One group per topology domain (e.g. an InfiniBand island), so the pipeline hop stays on the fabric.
  const annotations = input.fabric ? { [LWS_EXCLUSIVE_TOPOLOGY]: input.fabric.exclusiveTopology } : undefined;
  return {
    apiVersion: "leaderworkerset.x-k8s.io/v1",
    kind: "LeaderWorkerSet",
    metadata: {
      name,
      namespace: input.namespace,
      labels: modelLabels(input.preset.id),
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      replicas: input.replicas,
      startupPolicy: "LeaderCreated",
      leaderWorkerTemplate: {
        size: input.layout.nodes,
        // A lost worker breaks the whole pipeline; restart the group together.
        restartPolicy: "RecreateGroupOnPodRestart",
        leaderTemplate: {
          metadata: podMetadata(input, true, { "gonka.ai/role": "leader" }),
          spec: enginePodSpec(input, "leader"),
        },
        workerTemplate: {
          metadata: podMetadata(input, false, { "gonka.ai/role": "worker" }),
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
      name: modelServiceName(input.preset.id),
      namespace: input.namespace,
      labels: modelLabels(input.preset.id),
    },
    spec: { selector, ports: [{ name: "http", port: ENGINE_PORT, targetPort: ENGINE_PORT }] },
  };
}

/** Headless Service whose EndpointSlices list the model's serving pods (the gateway's replicas). */
export function modelPodsServiceName(presetId: string): string {
  return `${k8sName(presetId)}-pods`;
}

/** The label the LeaderWorkerSet controller puts on every pod; the leader is worker 0. */
export const LWS_WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index";

/**
 * Per-pod routing: a headless Service (`clusterIP: None`, no virtual IP, no kube-proxy
 * balancing) over the pods that serve HTTP, so its EndpointSlices give the gateway one
 * address per pod. LeaderWorkerSet: the leaders only (worker index 0); workers serve nothing.
 * Beside the ClusterIP `<model>-api` Service, which stays for in-cluster callers.
 */
export function modelPodsServiceSpec(input: K8sModelInput) {
  const selector: Record<string, string> = modelLabels(input.preset.id);
  if (input.layout.nodes > 1) selector[LWS_WORKER_INDEX_LABEL] = "0";
  return {
    metadata: {
      name: modelPodsServiceName(input.preset.id),
      namespace: input.namespace,
      labels: modelLabels(input.preset.id),
    },
    spec: {
      clusterIP: "None",
      selector,
      // Not-ready pods (loading weights) stay out of the slices' ready endpoints.
      publishNotReadyAddresses: false,
      ports: [{ name: "http", port: ENGINE_PORT, targetPort: ENGINE_PORT }],
    },
  };
}

export function serviceUrl(name: string, namespace: string, port: number): string {
  return `http://${name}.${namespace}.svc.cluster.local:${port}`;
}
