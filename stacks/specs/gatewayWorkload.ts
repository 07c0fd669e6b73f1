/**
 * The gateway's Kubernetes workload: a Deployment (replicas share Postgres and Redis, so no
 * pod owns state), its PodDisruptionBudget, a CPU HorizontalPodAutoscaler, and, on SQLite
 * only, one volume for the single replica's file. Plain objects, deterministic.
 */
import {
  DATABASE_URL_ENV,
  GATEWAY_COMMAND,
  GATEWAY_CONFIG_DIR,
  GATEWAY_DATA_DIR,
  GATEWAY_LABELS,
  GATEWAY_SECRET_ENV,
  GATEWAY_UID,
  gatewayEnv,
  OPS_PORT,
} from "./gateway.ts";

export const GATEWAY_NAME = "gonka-gateway";
/** On the gateway's Deployment and container: the Pulumi stack (policy `prod-gateway-replicas`). */
export const ENVIRONMENT_LABEL = "gonka.ai/environment";
/** The SQLite volume (database kind `sqlite`, one replica). */
export const GATEWAY_DATA_CLAIM = "gonka-gateway-data";
/** HPA target: average CPU utilisation of the requests below. */
export const GATEWAY_CPU_TARGET_PERCENT = 70;

export interface K8sGatewayInput {
  readonly namespace: string;
  readonly image: string;
  readonly replicas: number;
  /** An HPA owns the replica count (so `pulumi up` does not reset it); `replicas` is its floor. */
  readonly autoscaled: boolean;
  readonly port: number;
  readonly configMapName: string;
  readonly configChecksum: string;
  readonly secretName: string;
  /** Where GONKA_DATABASE_URL comes from; absent: SQLite on the `GATEWAY_DATA_CLAIM` volume. */
  readonly databaseSecret?: { readonly name: string; readonly key: string };
  readonly serviceAccountName: string;
  /** The Pulumi stack (dev, staging, prod): the policy pack holds prod to two replicas. */
  readonly environment: string;
}

export function gatewayDeploymentSpec(input: K8sGatewayInput) {
  const sqlite = !input.databaseSecret;
  const probe = (path: string, period: number) => ({
    httpGet: { path, port: input.port },
    periodSeconds: period,
    timeoutSeconds: 3,
    failureThreshold: 3,
  });
  const env = gatewayEnv(input.port);
  return {
    metadata: {
      name: GATEWAY_NAME,
      namespace: input.namespace,
      labels: { ...GATEWAY_LABELS, [ENVIRONMENT_LABEL]: input.environment },
    },
    spec: {
      ...(input.autoscaled ? {} : { replicas: input.replicas }),
      selector: { matchLabels: GATEWAY_LABELS },
      // SQLite: one writer on a ReadWriteOnce volume, so the old pod goes before the new one
      // mounts it. Postgres: a new pod must be ready (/readyz) before an old one leaves.
      strategy: sqlite
        ? { type: "Recreate" }
        : { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: GATEWAY_LABELS,
          annotations: {
            "gonka.ai/config-checksum": input.configChecksum,
            // /metrics lives on the ops listener only.
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(OPS_PORT),
            "prometheus.io/path": "/metrics",
          },
        },
        spec: {
          // The token lets the gateway watch its models' EndpointSlices (the Role below, read-only).
          serviceAccountName: input.serviceAccountName,
          automountServiceAccountToken: true,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: GATEWAY_UID,
            runAsGroup: GATEWAY_UID,
            fsGroup: GATEWAY_UID,
          },
          terminationGracePeriodSeconds: 45,
          // Replicas on different nodes, so one node's loss leaves the API up. Preferred, not
          // required: a rollout's surge pod or the HPA may need a node that already has one.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: GATEWAY_LABELS },
                    topologyKey: "kubernetes.io/hostname",
                  },
                },
              ],
            },
          },
          containers: [
            {
              name: "gateway",
              image: input.image,
              command: [...GATEWAY_COMMAND],
              ports: [
                { name: "http", containerPort: input.port },
                { name: "ops", containerPort: OPS_PORT },
              ],
              env: [
                ...Object.entries(env).map(([name, value]) => ({ name, value })),
                ...Object.entries(GATEWAY_SECRET_ENV).map(([key, name]) => ({
                  name,
                  valueFrom: { secretKeyRef: { name: input.secretName, key } },
                })),
                ...(input.databaseSecret
                  ? [{ name: DATABASE_URL_ENV, valueFrom: { secretKeyRef: { ...input.databaseSecret } } }]
                  : []),
              ],
              resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { memory: "1Gi" } },
              livenessProbe: probe("/healthz", 10),
              readinessProbe: probe("/readyz", 5),
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "config", mountPath: GATEWAY_CONFIG_DIR, readOnly: true },
                { name: "data", mountPath: GATEWAY_DATA_DIR },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: input.configMapName } },
            // On Postgres the data folder holds only this pod's usage journal, which the pod
            // replays into Postgres after a container restart (an emptyDir survives those).
            sqlite
              ? { name: "data", persistentVolumeClaim: { claimName: GATEWAY_DATA_CLAIM } }
              : { name: "data", emptyDir: {} },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** SQLite only: the one replica's file, kept across restarts and reschedules. */
export function gatewayDataClaimSpec(namespace: string, storageClass?: string) {
  return {
    metadata: {
      name: GATEWAY_DATA_CLAIM,
      namespace,
      labels: GATEWAY_LABELS,
      // WaitForFirstConsumer classes bind only once the pod schedules: Pulumi must not wait for it.
      annotations: { "pulumi.com/skipAwait": "true" },
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "20Gi" } },
      ...(storageClass ? { storageClassName: storageClass } : {}),
    },
  };
}

/** Keep all but one replica up through node drains (and the only one, when there is one, is drainable). */
export function gatewayPdbSpec(namespace: string) {
  return {
    metadata: { name: GATEWAY_NAME, namespace, labels: GATEWAY_LABELS },
    spec: { maxUnavailable: 1, selector: { matchLabels: GATEWAY_LABELS } },
  };
}

/** Scale on CPU between the configured floor and ceiling (autoscaling/v2). */
export function gatewayHpaSpec(namespace: string, minReplicas: number, maxReplicas: number) {
  return {
    metadata: { name: GATEWAY_NAME, namespace, labels: GATEWAY_LABELS },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: GATEWAY_NAME },
      minReplicas,
      maxReplicas,
      metrics: [
        {
          type: "Resource",
          resource: {
            name: "cpu",
            target: { type: "Utilization", averageUtilization: GATEWAY_CPU_TARGET_PERCENT },
          },
        },
      ],
    },
  };
}

/**
 * Per-pod routing: the gateway lists and watches the EndpointSlices of each model's headless
 * Service in its own namespace, and nothing else (a Role, not a ClusterRole; read verbs only).
 */
export function gatewayServiceAccountSpec(namespace: string) {
  return {
    metadata: { name: GATEWAY_NAME, namespace, labels: GATEWAY_LABELS },
    automountServiceAccountToken: true,
  };
}

export function gatewayRoleSpec(namespace: string) {
  return {
    metadata: { name: `${GATEWAY_NAME}-endpointslices`, namespace, labels: GATEWAY_LABELS },
    rules: [
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
    ],
  };
}

export function gatewayRoleBindingSpec(namespace: string) {
  return {
    metadata: { name: `${GATEWAY_NAME}-endpointslices`, namespace, labels: GATEWAY_LABELS },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${GATEWAY_NAME}-endpointslices` },
    subjects: [{ kind: "ServiceAccount", name: GATEWAY_NAME, namespace }],
  };
}
