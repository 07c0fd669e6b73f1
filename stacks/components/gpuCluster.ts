import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS } from "../specs/images.ts";
import { helmChart } from "./charts.ts";

export interface GpuClusterArgs {
  /** Namespace every Gonka workload lives in; created here. */
  readonly namespace: string;
  /** Install the NVIDIA device plugin, the full GPU operator, or trust the cluster to have one. */
  readonly gpuScheduling: "device-plugin" | "gpu-operator" | "present";
  /** Install the LeaderWorkerSet controller (multi-node models need it). */
  readonly installLws: boolean;
  readonly tolerations: readonly object[];
  /** Record the charts instead of fetching them (`gonka:kubernetes.offlineCharts`). */
  readonly offlineCharts: boolean;
}

/**
 * The device-plugin chart schedules only on nodes NFD labelled (`pci-10de.present`), and the
 * model pods select `nvidia.com/gpu.product`, which only GPU feature discovery sets; both are
 * off by default in the chart, so this mode turns both on.
 */
export function devicePluginValues(tolerations: readonly object[]) {
  return { tolerations, gfd: { enabled: true }, nfd: { enabled: true } };
}

/** What a cluster needs before GPU workloads can be scheduled: namespace, GPU plugin, LWS controller. */
export class GpuCluster extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  /** Resources model servers must wait for. */
  public readonly ready: pulumi.Resource[] = [];

  constructor(name: string, args: GpuClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gonka:k8s:GpuCluster", name, {}, opts);
    const ns = new k8s.core.v1.Namespace(
      name,
      { metadata: { name: args.namespace, labels: { "app.kubernetes.io/part-of": "gonka" } } },
      { parent: this },
    );
    this.namespace = ns.metadata.name;
    this.ready.push(ns);
    if (args.gpuScheduling === "device-plugin") {
      const c = CHARTS.devicePlugin;
      this.ready.push(
        helmChart(
          `${name}-nvidia-device-plugin`,
          {
            chart: c.chart,
            version: c.version,
            repositoryOpts: { repo: c.repo },
            namespace: "kube-system",
            values: devicePluginValues(args.tolerations),
          },
          { parent: this },
          args.offlineCharts,
        ),
      );
    } else if (args.gpuScheduling === "gpu-operator") {
      const c = CHARTS.gpuOperator;
      const opNs = new k8s.core.v1.Namespace(
        `${name}-gpu-operator`,
        { metadata: { name: "gpu-operator" } },
        { parent: this },
      );
      this.ready.push(
        helmChart(
          `${name}-gpu-operator`,
          {
            chart: c.chart,
            version: c.version,
            repositoryOpts: { repo: c.repo },
            namespace: opNs.metadata.name,
            // The operator ships its own dcgm-exporter; Observability then skips ours.
            values: { dcgmExporter: { enabled: true }, driver: { enabled: false } },
          },
          { parent: this },
          args.offlineCharts,
        ),
      );
    }
    if (args.installLws) {
      const lwsNs = new k8s.core.v1.Namespace(
        `${name}-lws-system`,
        { metadata: { name: "lws-system" } },
        { parent: this },
      );
      this.ready.push(
        helmChart(
          `${name}-lws`,
          { chart: CHARTS.lws.chart, version: CHARTS.lws.version, namespace: lwsNs.metadata.name },
          { parent: this },
          args.offlineCharts,
        ),
      );
    }
    this.registerOutputs({ namespace: this.namespace });
  }
}
