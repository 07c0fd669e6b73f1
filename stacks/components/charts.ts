import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * A Helm chart the Kubernetes target installs. Helm charts are fetched and rendered during the
 * plan (repository or OCI registry, and the cluster for capabilities), which CI has neither of:
 * with `gonka:kubernetes.offlineCharts` the chart is an `OfflineChart` instead, a component that
 * records what would be installed (chart, version, namespace, values) and creates nothing, so
 * the rest of the program plans, and resources that wait for the chart still depend on it.
 */
export class OfflineChart extends pulumi.ComponentResource {
  public readonly chart: string;
  public readonly version: string;

  constructor(name: string, args: k8s.helm.v4.ChartArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gonka:k8s:OfflineChart", name, {}, opts);
    this.chart = String(args.chart);
    this.version = String(args.version);
    this.registerOutputs({
      chart: args.chart,
      version: args.version,
      namespace: args.namespace,
      repo: args.repositoryOpts ? pulumi.output(args.repositoryOpts).apply((r) => r?.repo) : undefined,
      values: args.values,
    });
  }
}

export function helmChart(
  name: string,
  args: k8s.helm.v4.ChartArgs,
  opts: pulumi.ComponentResourceOptions,
  offline: boolean,
): pulumi.Resource {
  return offline ? new OfflineChart(name, args, opts) : new k8s.helm.v4.Chart(name, args, opts);
}
