/** Wires the components for the Kubernetes target; called by the entry point. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Database } from "../components/database.ts";
import type { EngineImages } from "../components/engineImages.ts";
import { Gateway } from "../components/gateway.ts";
import { GpuCluster } from "../components/gpuCluster.ts";
import { ModelServer } from "../components/modelServer.ts";
import { Observability } from "../components/observability.ts";
import { WeightStaging } from "../components/weightStaging.ts";
import type { StackConfig } from "../config.ts";
import { databaseKind } from "../databaseConfig.ts";
import { k8sName } from "../specs/k8sModelServer.ts";
import type { Secrets, TargetDeployment } from "./types.ts";

export function deployKubernetes(cfg: StackConfig, images: EngineImages, secrets: Secrets): TargetDeployment {
  const kc = cfg.kubernetes;
  const ns = kc.namespace;
  const cluster = new GpuCluster("cluster", {
    namespace: ns,
    gpuScheduling: kc.gpuScheduling,
    installLws: kc.installLws,
    tolerations: kc.tolerations,
    offlineCharts: kc.offlineCharts,
  });
  const hfSecret = new k8s.core.v1.Secret(
    "hf-token",
    { metadata: { name: "hf-token", namespace: ns }, type: "Opaque", stringData: { token: secrets.hfToken } },
    { dependsOn: cluster.ready },
  );
  // The engines' API key; the gateway gets the same value through its own Secret.
  const engineSecret = new k8s.core.v1.Secret(
    "engine-key",
    {
      metadata: { name: "gonka-engine", namespace: ns },
      type: "Opaque",
      stringData: { apiKey: secrets.engineApiKey },
    },
    { dependsOn: cluster.ready },
  );
  const fabric = cfg.fabric.rdma
    ? {
        rdmaResource: cfg.fabric.rdmaResource,
        ibHca: cfg.fabric.ibHca,
        socketIfname: cfg.fabric.socketIfname,
        exclusiveTopology: cfg.fabric.exclusiveTopology,
      }
    : undefined;
  // The GPU operator creates the `nvidia` RuntimeClass; otherwise nvidia must be the default runtime.
  const runtimeClassName =
    kc.runtimeClassName ?? (kc.gpuScheduling === "gpu-operator" ? "nvidia" : undefined);
  const servers = cfg.models.map((m) => {
    const name = k8sName(m.preset.id);
    const staging = new WeightStaging(
      `${name}-weights`,
      {
        target: "kubernetes",
        preset: m.preset,
        image: images.ref("vllm"),
        namespace: ns,
        hfTokenSecret: hfSecret.metadata.name,
        ...(kc.weightsStorageClass ? { storageClass: kc.weightsStorageClass } : {}),
      },
      { dependsOn: cluster.ready },
    );
    return new ModelServer(
      name,
      {
        target: "kubernetes",
        model: m,
        image: images.ref(m.preset.engine),
        namespace: ns,
        weightsClaim: staging.location,
        nodeSelector: kc.gpuNodeSelectors[m.layout.gpuType] ?? {},
        tolerations: kc.tolerations,
        engineKeySecret: engineSecret.metadata.name,
        ...(fabric ? { fabric } : {}),
        ...(runtimeClassName ? { runtimeClassName } : {}),
      },
      { dependsOn: [staging, ...cluster.ready] },
    );
  });
  new Observability(
    "observability",
    {
      target: "kubernetes",
      namespace: ns,
      deployDcgm: kc.gpuScheduling !== "gpu-operator",
      // Any GPU node the models may land on: one affinity term per configured GPU selector
      // (GFD sets `nvidia.com/gpu.product`; nothing here sets `nvidia.com/gpu.present`).
      gpuNodeSelectorTerms: Object.values(kc.gpuNodeSelectors).filter((s): s is Record<string, string> =>
        Boolean(s && Object.keys(s).length > 0),
      ),
      tolerations: kc.tolerations,
      models: cfg.models.map((m) => m.preset.id),
    },
    { dependsOn: cluster.ready },
  );
  // The gateway discovers each model's pods (headless Service); the `-api` URL stays in the outputs.
  const models = pulumi
    .all(servers.map((s) => pulumi.all([s.replicaUrls, s.podsService])))
    .apply((byServer) =>
      cfg.models.map((m, i) => {
        const [urls, discovery] = byServer[i] ?? [[], undefined];
        return {
          preset: m.preset.id,
          replicaUrls: urls,
          extraAliases: [...m.extraAliases],
          ...(discovery ? { discovery } : {}),
        };
      }),
    );
  const dbKind = databaseKind(cfg.database, "kubernetes");
  const database =
    dbKind === "cnpg"
      ? new Database(
          "database",
          {
            target: "kubernetes",
            namespace: ns,
            settings: cfg.database.cnpg,
            offlineCharts: kc.offlineCharts,
          },
          { dependsOn: cluster.ready },
        )
      : undefined;
  if (dbKind === "external" && !secrets.databaseUrl) throw new Error("gonka:database.url is not set");
  const gw = cfg.gateway;
  const gateway = new Gateway(
    "gateway",
    {
      target: "kubernetes",
      models,
      image: images.ref("gateway"),
      adminKey: secrets.adminKey,
      engineApiKey: secrets.engineApiKey,
      redisPassword: secrets.redisPassword,
      port: cfg.gateway.port,
      namespace: ns,
      replicas: gw.replicas,
      // No HPA on one replica (SQLite, or a stack that asked for one).
      maxReplicas: gw.maxReplicas ?? (gw.replicas > 1 ? gw.replicas * 2 : 1),
      ...(database?.secretRef ? { database: { secretRef: database.secretRef } } : {}),
      ...(dbKind === "external" && secrets.databaseUrl ? { database: { url: secrets.databaseUrl } } : {}),
      ingressClassName: cfg.gateway.ingressClassName,
      ...(cfg.gateway.domain ? { domain: cfg.gateway.domain } : {}),
      ...(cfg.gateway.tiers ? { tiers: cfg.gateway.tiers } : {}),
      ...(cfg.gateway.reasoningOutput ? { reasoningOutput: cfg.gateway.reasoningOutput } : {}),
      ...(cfg.gateway.routers ? { routers: cfg.gateway.routers } : {}),
      ...(kc.gatewayStorageClass ? { storageClass: kc.gatewayStorageClass } : {}),
    },
    { dependsOn: [...cluster.ready, ...(database?.ready ?? [])] },
  );
  return { gateway, servers };
}
