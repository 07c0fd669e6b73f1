import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedModel } from "../config.ts";
import { type DockerFabric, dockerEngineSpec } from "../specs/dockerModelServer.ts";
import { ENGINE_PORT } from "../specs/engine.ts";
import {
  deploymentSpec,
  type K8sFabric,
  type K8sModelInput,
  leaderWorkerSetSpec,
  modelPodsServiceSpec,
  modelServiceSpec,
  serviceUrl,
  type Toleration,
} from "../specs/k8sModelServer.ts";
import type { PlacedModel } from "../specs/placement.ts";

export interface K8sModelServerArgs {
  readonly target: "kubernetes";
  /** Catalog preset, layout and replica count from `gonka:models`. */
  readonly model: ResolvedModel;
  /** Digest-pinned engine image. */
  readonly image: pulumi.Input<string>;
  readonly namespace: string;
  /** PVC the WeightStaging job filled. */
  readonly weightsClaim: pulumi.Input<string>;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly Toleration[];
  /** Secret (key `apiKey`) with the engine API key. */
  readonly engineKeySecret: pulumi.Input<string>;
  /** RDMA between the nodes of multi-node groups; absent: TCP. */
  readonly fabric?: K8sFabric;
  readonly runtimeClassName?: string;
}

export interface DockerModelServerArgs {
  readonly target: "docker";
  readonly model: ResolvedModel;
  /** Where each replica's nodes run (from `placeOnDockerHosts`). */
  readonly placement: PlacedModel;
  /** Engine image already pulled on each host, by host name. */
  readonly imageByHost: Readonly<Record<string, pulumi.Input<string>>>;
  readonly providerByHost: Readonly<Record<string, docker.Provider>>;
  readonly weightsDirByHost: Readonly<Record<string, string>>;
  /** Address each host's engines are reachable on (private address, or loopback on the gateway's host). */
  readonly bindAddressByHost: Readonly<Record<string, string>>;
  /** The engine API key (a Pulumi secret). */
  readonly engineApiKey: pulumi.Output<string>;
  readonly fabric: DockerFabric;
}

/**
 * One catalog model served by its engine: a Deployment or LeaderWorkerSet plus a
 * Service on Kubernetes; one container per node of each replica on Docker hosts.
 */
export class ModelServer extends pulumi.ComponentResource {
  public readonly presetId: string;
  /** Base URLs the gateway proxies to (no `/v1`); on Kubernetes the `-api` Service's. */
  public readonly replicaUrls: pulumi.Output<string[]>;
  /** Kubernetes: the headless Service whose EndpointSlices the gateway watches, one replica per pod. */
  public readonly podsService?: pulumi.Output<{ namespace: string; service: string }>;

  constructor(
    name: string,
    args: K8sModelServerArgs | DockerModelServerArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("gonka:models:ModelServer", name, {}, opts);
    const m = args.model;
    this.presetId = m.preset.id;
    if (args.target === "kubernetes") {
      const input = pulumi.all([args.image, args.weightsClaim, args.engineKeySecret]).apply(
        ([image, weightsClaim, engineKeySecret]): K8sModelInput => ({
          preset: m.preset,
          layout: m.layout,
          replicas: m.replicas,
          ...(m.maxModelLen ? { maxModelLen: m.maxModelLen } : {}),
          image,
          namespace: args.namespace,
          weightsClaim,
          nodeSelector: args.nodeSelector,
          tolerations: args.tolerations,
          engineKeySecret,
          ...(args.fabric ? { fabric: args.fabric } : {}),
          ...(args.runtimeClassName ? { runtimeClassName: args.runtimeClassName } : {}),
        }),
      );
      if (m.layout.nodes > 1) {
        const spec = input.apply(leaderWorkerSetSpec);
        new k8s.apiextensions.CustomResource(
          `${name}-lws`,
          {
            apiVersion: "leaderworkerset.x-k8s.io/v1",
            kind: "LeaderWorkerSet",
            metadata: spec.metadata,
            spec: spec.spec,
          },
          { parent: this },
        );
      } else {
        const spec = input.apply(deploymentSpec);
        new k8s.apps.v1.Deployment(
          `${name}-deployment`,
          { metadata: spec.metadata, spec: spec.spec },
          // Loading a checkpoint can outlast Pulumi's default 10-minute rollout wait.
          { parent: this, customTimeouts: { create: "3h", update: "3h" } },
        );
      }
      const svc = input.apply(modelServiceSpec);
      const service = new k8s.core.v1.Service(
        `${name}-svc`,
        { metadata: svc.metadata, spec: svc.spec },
        { parent: this },
      );
      this.replicaUrls = service.metadata.name.apply((n) => [serviceUrl(n, args.namespace, ENGINE_PORT)]);
      const pods = input.apply(modelPodsServiceSpec);
      const podsService = new k8s.core.v1.Service(
        `${name}-pods-svc`,
        { metadata: pods.metadata, spec: pods.spec },
        { parent: this },
      );
      this.podsService = podsService.metadata.name.apply((service) => ({
        namespace: args.namespace,
        service,
      }));
    } else {
      const urls: string[] = [];
      const bindOf = (host: string) => {
        const bind = args.bindAddressByHost[host];
        if (!bind) throw new Error(`${m.preset.id}: host ${host} has no bind address`);
        return bind;
      };
      for (const [r, nodes] of args.placement.replicas.entries()) {
        const leader = nodes[0];
        if (!leader) throw new Error(`${m.preset.id}: replica ${r} has no nodes`);
        for (const node of nodes) {
          const spec = dockerEngineSpec({
            preset: m.preset,
            layout: m.layout,
            ...(m.maxModelLen ? { maxModelLen: m.maxModelLen } : {}),
            replica: r,
            node,
            leader,
            hostWeightsDir: args.weightsDirByHost[node.host] ?? "",
            bindAddress: bindOf(node.host),
            fabric: args.fabric,
          });
          const image = args.imageByHost[node.host];
          const provider = args.providerByHost[node.host];
          if (!image || !provider)
            throw new Error(`${m.preset.id}: host ${node.host} has no image or provider`);
          const { keyEnv, envs, ...container } = spec;
          new docker.Container(
            `${name}-r${r}-n${node.nodeRank}`,
            {
              ...container,
              image,
              // The engine key joins the environment inside a secret, never as a plain input.
              envs: pulumi.secret(args.engineApiKey.apply((key) => [...envs, `${keyEnv}=${key}`])),
            },
            // Rank order does not matter: workers retry the leader's rendezvous until it is up.
            { parent: this, provider },
          );
        }
        urls.push(`http://${bindOf(leader.host)}:${leader.port}`);
      }
      this.replicaUrls = pulumi.output(urls);
    }
    this.registerOutputs({ replicaUrls: this.replicaUrls });
  }
}
