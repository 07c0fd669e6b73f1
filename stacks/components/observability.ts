import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DCGM_EXPORTER_IMAGE } from "../specs/images.ts";
import {
  DCGM_PORT,
  dashboardJson,
  dcgmDaemonSetSpec,
  dcgmDockerSpec,
  dcgmServiceSpec,
} from "../specs/observability.ts";

export interface K8sObservabilityArgs {
  readonly target: "kubernetes";
  readonly namespace: string;
  /** False when the GPU operator already runs dcgm-exporter. */
  readonly deployDcgm: boolean;
  /** The stack's GPU node selectors; the exporter runs on nodes matching any of them. */
  readonly gpuNodeSelectorTerms: readonly Readonly<Record<string, string>>[];
  readonly tolerations: readonly object[];
  readonly models: readonly string[];
}

export interface DockerObservabilityArgs {
  readonly target: "docker";
  /** GPU hosts by name with their providers and the address the exporter is published on. */
  readonly hosts: readonly { name: string; address: string; provider: docker.Provider }[];
  readonly models: readonly string[];
}

/** dcgm-exporter where the target needs it, plus the dashboard; exposes GPU metrics URLs for the gateway. */
export class Observability extends pulumi.ComponentResource {
  /** dcgm-exporter URL by Docker host name, or `*` for the cluster-wide Service. */
  public readonly gpuMetricsUrls: Record<string, string> = {};

  constructor(
    name: string,
    args: K8sObservabilityArgs | DockerObservabilityArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("gonka:observability:Observability", name, {}, opts);
    if (args.target === "kubernetes") {
      const ns = args.namespace;
      if (args.deployDcgm) {
        new k8s.apps.v1.DaemonSet(
          `${name}-dcgm`,
          dcgmDaemonSetSpec({
            namespace: ns,
            gpuNodeSelectorTerms: args.gpuNodeSelectorTerms,
            tolerations: args.tolerations,
          }),
          { parent: this },
        );
        new k8s.core.v1.Service(`${name}-dcgm-svc`, dcgmServiceSpec(ns), { parent: this });
        this.gpuMetricsUrls["*"] = `http://dcgm-exporter.${ns}.svc.cluster.local:${DCGM_PORT}/metrics`;
      } else {
        this.gpuMetricsUrls["*"] =
          `http://nvidia-dcgm-exporter.gpu-operator.svc.cluster.local:${DCGM_PORT}/metrics`;
      }
      new k8s.core.v1.ConfigMap(
        `${name}-dashboard`,
        {
          metadata: { name: "gonka-dashboard", namespace: ns, labels: { grafana_dashboard: "1" } },
          data: { "gonka-inference.json": dashboardJson(args.models) },
        },
        { parent: this },
      );
    } else {
      for (const host of args.hosts) {
        const p = { parent: this, provider: host.provider };
        const image = new docker.RemoteImage(
          `${name}-${host.name}-dcgm-image`,
          { name: DCGM_EXPORTER_IMAGE, keepLocally: true },
          p,
        );
        new docker.Container(
          `${name}-${host.name}-dcgm`,
          { ...dcgmDockerSpec(host.name, host.address), image: image.imageId },
          p,
        );
        this.gpuMetricsUrls[host.name] = `http://${host.address}:${DCGM_PORT}/metrics`;
      }
    }
    this.registerOutputs({ gpuMetricsUrls: this.gpuMetricsUrls });
  }
}
