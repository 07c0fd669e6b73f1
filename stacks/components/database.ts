import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseSettings } from "../databaseConfig.ts";
import {
  CNPG_APP_SECRET,
  cnpgClusterSpec,
  cnpgScheduledBackupSpec,
  DB_NAME,
  DB_USER,
  POSTGRES_PORT,
  postgresContainerEnv,
  postgresUrl,
} from "../specs/database.ts";
import { CHARTS, POSTGRES_IMAGE } from "../specs/images.ts";
import { helmChart } from "./charts.ts";

export interface CnpgDatabaseArgs {
  readonly target: "kubernetes";
  readonly namespace: string;
  readonly settings: DatabaseSettings["cnpg"];
  /** Record the operator chart instead of fetching it (`gonka:kubernetes.offlineCharts`). */
  readonly offlineCharts: boolean;
}

export interface ContainerDatabaseArgs {
  readonly target: "docker";
  /** Provider of the gateway's host: Postgres runs beside the gateway, on loopback. */
  readonly provider: docker.Provider;
  /** `gonka:databasePassword` (a Pulumi secret). */
  readonly password: pulumi.Output<string>;
}

/**
 * The gateway's Postgres: a CloudNativePG cluster (operator installed unless present) or a
 * `postgres` container with a named volume. The gateway reads the URL from `secretRef`
 * (Kubernetes) or `url` (Docker, a secret).
 */
export class Database extends pulumi.ComponentResource {
  /** Kubernetes: the Secret key holding the connection URI (written by the operator). */
  public readonly secretRef?: { readonly name: string; readonly key: string };
  /** Docker: the URL with its password, a secret. */
  public readonly url?: pulumi.Output<string>;
  /** What the gateway must wait for. */
  public readonly ready: pulumi.Resource[] = [];

  constructor(
    name: string,
    args: CnpgDatabaseArgs | ContainerDatabaseArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("gonka:database:Database", name, {}, opts);
    if (args.target === "kubernetes") {
      const operator: pulumi.Resource[] = [];
      if (args.settings.installOperator) {
        const ns = new k8s.core.v1.Namespace(
          `${name}-cnpg-system`,
          { metadata: { name: "cnpg-system" } },
          { parent: this },
        );
        const c = CHARTS.cnpg;
        operator.push(
          helmChart(
            `${name}-cnpg`,
            {
              chart: c.chart,
              version: c.version,
              repositoryOpts: { repo: c.repo },
              namespace: ns.metadata.name,
            },
            { parent: this },
            args.offlineCharts,
          ),
        );
      }
      const spec = cnpgClusterSpec(args.namespace, args.settings);
      const cluster = new k8s.apiextensions.CustomResource(
        `${name}-cluster`,
        { apiVersion: spec.apiVersion, kind: spec.kind, metadata: spec.metadata, spec: spec.spec },
        { parent: this, dependsOn: operator },
      );
      const backups = args.settings.backups;
      if (backups.kind === "barman") {
        const sb = cnpgScheduledBackupSpec(args.namespace, backups);
        new k8s.apiextensions.CustomResource(
          `${name}-scheduled-backup`,
          { apiVersion: sb.apiVersion, kind: sb.kind, metadata: sb.metadata, spec: sb.spec },
          { parent: this, dependsOn: [cluster] },
        );
      }
      this.secretRef = CNPG_APP_SECRET;
      this.ready.push(cluster);
    } else {
      const p = { parent: this, provider: args.provider };
      const image = new docker.RemoteImage(`${name}-image`, { name: POSTGRES_IMAGE, keepLocally: true }, p);
      const data = new docker.Volume(`${name}-data`, { name: "gonka-postgres-data" }, p);
      const container = new docker.Container(
        `${name}-postgres`,
        {
          name: "gonka-postgres",
          image: image.imageId,
          // The password joins the environment inside a secret, never as a plain input.
          envs: pulumi.secret(
            args.password.apply((pw) => [...postgresContainerEnv(), `POSTGRES_PASSWORD=${pw}`]),
          ),
          // Loopback only: the gateway (host networking, same host) is its one client.
          ports: [{ internal: POSTGRES_PORT, external: POSTGRES_PORT, ip: "127.0.0.1" }],
          volumes: [{ volumeName: data.name, containerPath: "/var/lib/postgresql/data" }],
          restart: "unless-stopped",
          memory: 2048,
          privileged: false,
          healthcheck: {
            tests: ["CMD", "pg_isready", "-U", DB_USER, "-d", DB_NAME],
            interval: "10s",
            timeout: "3s",
            retries: 5,
          },
        },
        p,
      );
      this.url = pulumi.secret(args.password.apply((pw) => postgresUrl(pw)));
      this.ready.push(container);
    }
    this.registerOutputs({});
  }
}
