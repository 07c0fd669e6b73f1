import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { TierConfig } from "../../gateway/config/schema.ts";
import type { RouterConfigInput } from "../../gateway/tiering/schema.ts";
import {
  configChecksum,
  DATABASE_URL_ENV,
  GATEWAY_COMMAND,
  GATEWAY_CONFIG_PATH,
  GATEWAY_DATA_DIR,
  GATEWAY_SECRET_ENV,
  GATEWAY_UID,
  gatewayConfig,
  gatewayEnv,
  gatewayIngressSpec,
  gatewayServiceSpec,
  OPS_PORT,
  type StackModel,
  stableJson,
} from "../specs/gateway.ts";
import {
  ENVIRONMENT_LABEL,
  gatewayDataClaimSpec,
  gatewayDeploymentSpec,
  gatewayHpaSpec,
  gatewayPdbSpec,
  gatewayRoleBindingSpec,
  gatewayRoleSpec,
  gatewayServiceAccountSpec,
} from "../specs/gatewayWorkload.ts";
import { REDIS_IMAGE } from "../specs/images.ts";
import { REDIS_PORT, redisArgs, redisDeploymentSpec, redisServiceSpec, redisUrl } from "../specs/redis.ts";

interface CommonArgs {
  /** Deployed models with their addresses (and, on Kubernetes, pod discovery); resolved when the servers exist. */
  readonly models: pulumi.Input<StackModel[]>;
  /** Digest-pinned gateway image. */
  readonly image: pulumi.Input<string>;
  /** Admin API token (a Pulumi secret). */
  readonly adminKey: pulumi.Output<string>;
  /** The key the engines demand; the gateway sends it upstream (GONKA_ENGINE_API_KEY). */
  readonly engineApiKey: pulumi.Output<string>;
  /** Redis `requirepass` (a Pulumi secret). */
  readonly redisPassword: pulumi.Output<string>;
  readonly port: number;
  readonly tiers?: Record<string, TierConfig>;
  readonly reasoningOutput?: "both" | "reasoning" | "reasoning_content";
  /** Router aliases (tiering), as the gateway config's `routers`. */
  readonly routers?: readonly RouterConfigInput[];
}

export interface K8sGatewayArgs extends CommonArgs {
  readonly target: "kubernetes";
  readonly namespace: string;
  /** Deployment replicas; with `maxReplicas` above it, the HPA's floor. */
  readonly replicas: number;
  readonly maxReplicas: number;
  /**
   * Postgres: a Secret key the operator writes (CloudNativePG), or an external URL (a Pulumi
   * secret, stored in the gateway's Secret). Absent: SQLite on a volume, one replica.
   */
  readonly database?:
    | { readonly secretRef: { readonly name: string; readonly key: string } }
    | { readonly url: pulumi.Output<string> };
  /** Public host name; an Ingress is created for it. */
  readonly domain?: string;
  readonly ingressClassName: string;
  readonly storageClass?: string;
}

export interface DockerGatewayArgs extends CommonArgs {
  readonly target: "docker";
  /** Provider of the host that runs the gateway and Redis. */
  readonly provider: docker.Provider;
  /** Address clients reach the host on. */
  readonly hostAddress: string;
  /** The host's private address: the ops listener binds it (loopback when absent). */
  readonly privateAddress?: string;
  /** Postgres URL (a secret: the container beside the gateway, or external); absent: SQLite. */
  readonly databaseUrl?: pulumi.Output<string>;
}

/**
 * The Koa gateway with its generated config and Redis for shared limits; its keys and usage in
 * Postgres (GONKA_DATABASE_URL from a secret) or, with one replica, a SQLite volume.
 */
export class Gateway extends pulumi.ComponentResource {
  public readonly url: pulumi.Output<string>;
  /** Origin of the ops listener (admin API, metrics, per-model health); not public. */
  public readonly opsUrl: pulumi.Output<string>;
  /** The generated gateway.json, for the stack outputs and the test harness. */
  public readonly configJson: pulumi.Output<string>;

  constructor(
    name: string,
    args: K8sGatewayArgs | DockerGatewayArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("gonka:gateway:Gateway", name, {}, opts);
    // In a pod the ops listener binds all interfaces (only the Service reaches it); on a Docker
    // host the gateway shares the host's network, so it binds the private address or loopback.
    const opsHost = args.target === "kubernetes" ? "0.0.0.0" : (args.privateAddress ?? "127.0.0.1");
    this.configJson = pulumi.output(args.models).apply((models) =>
      stableJson(
        gatewayConfig({
          models,
          port: args.port,
          opsHost,
          ...(args.tiers ? { tiers: args.tiers } : {}),
          ...(args.reasoningOutput ? { reasoningOutput: args.reasoningOutput } : {}),
          ...(args.routers ? { routers: args.routers } : {}),
        }),
      ),
    );
    if (args.target === "kubernetes") {
      const ns = args.namespace;
      const db = args.database;
      const externalUrl = db && "url" in db ? db.url : undefined;
      const secret = new k8s.core.v1.Secret(
        `${name}-secret`,
        {
          metadata: { name: "gonka-gateway", namespace: ns },
          type: "Opaque",
          stringData: {
            adminKey: args.adminKey,
            engineApiKey: args.engineApiKey,
            redisPassword: args.redisPassword,
            redisUrl: pulumi.secret(
              args.redisPassword.apply((pw) => redisUrl(pw, `gonka-redis.${ns}.svc.cluster.local`)),
            ),
            ...(externalUrl ? { databaseUrl: pulumi.secret(externalUrl) } : {}),
          } satisfies Record<keyof typeof GATEWAY_SECRET_ENV | "redisPassword", pulumi.Input<string>>,
        },
        { parent: this },
      );
      const cm = new k8s.core.v1.ConfigMap(
        `${name}-config`,
        {
          metadata: { name: "gonka-gateway-config", namespace: ns },
          data: { "gateway.json": this.configJson },
        },
        { parent: this },
      );
      const redis = secret.metadata.name.apply((secretName) => redisDeploymentSpec(ns, secretName));
      new k8s.apps.v1.Deployment(
        `${name}-redis`,
        { metadata: redis.metadata, spec: redis.spec },
        { parent: this },
      );
      new k8s.core.v1.Service(`${name}-redis-svc`, redisServiceSpec(ns), { parent: this });
      const sa = new k8s.core.v1.ServiceAccount(`${name}-sa`, gatewayServiceAccountSpec(ns), {
        parent: this,
      });
      const role = new k8s.rbac.v1.Role(`${name}-role`, gatewayRoleSpec(ns), { parent: this });
      const binding = new k8s.rbac.v1.RoleBinding(`${name}-rolebinding`, gatewayRoleBindingSpec(ns), {
        parent: this,
        dependsOn: [role, sa],
      });
      const dataClaim = db
        ? undefined
        : new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, gatewayDataClaimSpec(ns, args.storageClass), {
            parent: this,
          });
      const autoscaled = args.maxReplicas > args.replicas;
      const deployment = pulumi
        .all([args.image, cm.metadata.name, secret.metadata.name, sa.metadata.name, this.configJson])
        .apply(([image, configMapName, secretName, serviceAccountName, json]) =>
          gatewayDeploymentSpec({
            namespace: ns,
            image,
            replicas: args.replicas,
            autoscaled,
            port: args.port,
            configMapName,
            configChecksum: configChecksum(json),
            secretName,
            serviceAccountName,
            environment: pulumi.getStack(),
            ...(db
              ? {
                  databaseSecret: "secretRef" in db ? db.secretRef : { name: secretName, key: "databaseUrl" },
                }
              : {}),
          }),
        );
      new k8s.apps.v1.Deployment(
        `${name}-deployment`,
        { metadata: deployment.metadata, spec: deployment.spec },
        { parent: this, dependsOn: [binding, ...(dataClaim ? [dataClaim] : [])] },
      );
      if (autoscaled)
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
          `${name}-hpa`,
          gatewayHpaSpec(ns, args.replicas, args.maxReplicas),
          { parent: this },
        );
      const svc = new k8s.core.v1.Service(`${name}-svc`, gatewayServiceSpec(ns, args.port), { parent: this });
      new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, gatewayPdbSpec(ns), { parent: this });
      if (args.domain) {
        new k8s.networking.v1.Ingress(
          `${name}-ingress`,
          gatewayIngressSpec(ns, args.domain, args.ingressClassName),
          { parent: this },
        );
        this.url = pulumi.output(`https://${args.domain}`);
      } else {
        this.url = svc.metadata.name.apply((n) => `http://${n}.${ns}.svc.cluster.local:${args.port}`);
      }
      // In-cluster only; from outside: kubectl port-forward svc/gonka-gateway 8081:ops (stacks/README.md).
      this.opsUrl = svc.metadata.name.apply((n) => `http://${n}.${ns}.svc.cluster.local:${OPS_PORT}`);
    } else {
      const p = { parent: this, provider: args.provider };
      const redisImage = new docker.RemoteImage(
        `${name}-redis-image`,
        { name: REDIS_IMAGE, keepLocally: true },
        p,
      );
      const redis = new docker.Container(
        `${name}-redis`,
        {
          name: "gonka-redis",
          image: redisImage.imageId,
          // The password is part of the command, so the whole command is a secret input.
          command: pulumi.secret(args.redisPassword.apply((pw) => ["redis-server", ...redisArgs(pw)])),
          // Loopback only: the gateway (host networking) is its one client.
          ports: [{ internal: REDIS_PORT, external: REDIS_PORT, ip: "127.0.0.1" }],
          restart: "unless-stopped",
          memory: 384,
          user: "999:999",
          privileged: false,
        },
        p,
      );
      const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, p);
      const data = new docker.Volume(`${name}-data`, { name: "gonka-gateway-data" }, p);
      const env = gatewayEnv(args.port);
      new docker.Container(
        `${name}-gateway`,
        {
          name: "gonka-gateway",
          image: image.imageId,
          command: [...GATEWAY_COMMAND],
          labels: [{ label: ENVIRONMENT_LABEL, value: pulumi.getStack() }],
          envs: pulumi.secret(
            pulumi
              .all([args.adminKey, args.engineApiKey, args.redisPassword, args.databaseUrl])
              .apply(([adminKey, engineKey, pw, databaseUrl]) => [
                ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
                `${GATEWAY_SECRET_ENV.adminKey}=${adminKey}`,
                `${GATEWAY_SECRET_ENV.engineApiKey}=${engineKey}`,
                `${GATEWAY_SECRET_ENV.redisUrl}=${redisUrl(pw, "127.0.0.1")}`,
                ...(databaseUrl ? [`${DATABASE_URL_ENV}=${databaseUrl}`] : []),
              ]),
          ),
          uploads: [{ file: GATEWAY_CONFIG_PATH, content: this.configJson }],
          volumes: [{ volumeName: data.name, containerPath: GATEWAY_DATA_DIR }],
          // Host networking: the engines on this host listen on loopback only, and the ops
          // listener binds the private address (or loopback) itself; the API port is public.
          networkMode: "host",
          user: `${GATEWAY_UID}:${GATEWAY_UID}`,
          memory: 1024,
          restart: "unless-stopped",
          privileged: false,
          healthcheck: {
            tests: [
              "CMD",
              "node",
              "-e",
              `fetch("http://127.0.0.1:${args.port}/healthz").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
            ],
            interval: "15s",
            timeout: "3s",
            retries: 3,
          },
        },
        { ...p, dependsOn: [redis] },
      );
      this.url = pulumi.output(`http://${args.hostAddress}:${args.port}`);
      this.opsUrl = pulumi.output(`http://${opsHost}:${OPS_PORT}`);
    }
    this.registerOutputs({ url: this.url, opsUrl: this.opsUrl, configJson: this.configJson });
  }
}
