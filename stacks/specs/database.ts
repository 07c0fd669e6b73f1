/**
 * Postgres for the gateway's keys and usage. Kubernetes: a CloudNativePG `Cluster` (and a
 * `ScheduledBackup` when backups are on); the operator generates the application user's
 * password and the Secret `<cluster>-app`, whose `uri` key the gateway reads, so the
 * password never passes through Pulumi. Docker: a `postgres` container on the gateway's
 * host, on loopback, with its password from a Pulumi secret. Plain objects, deterministic.
 */
import type { BackupSettings, DatabaseSettings } from "../databaseConfig.ts";

export const CNPG_API_VERSION = "postgresql.cnpg.io/v1";
export const DB_CLUSTER_NAME = "gonka-db";
/** The database and its owning role, on every kind the stack creates. */
export const DB_NAME = "gonka";
export const DB_USER = "gonka";
export const POSTGRES_PORT = 5432;
/** Where the gateway finds the URL CloudNativePG writes (`postgresql://gonka:…@gonka-db-rw…/gonka`). */
export const CNPG_APP_SECRET = { name: `${DB_CLUSTER_NAME}-app`, key: "uri" } as const;

const labels = { "app.kubernetes.io/name": "gonka-db", "app.kubernetes.io/part-of": "gonka" };

export function cnpgClusterSpec(namespace: string, cnpg: DatabaseSettings["cnpg"]) {
  const multi = cnpg.instances > 1;
  return {
    apiVersion: CNPG_API_VERSION,
    kind: "Cluster",
    metadata: { name: DB_CLUSTER_NAME, namespace, labels },
    spec: {
      instances: cnpg.instances,
      // No imageName: the operator's default PostgreSQL image, pinned by the operator's version.
      bootstrap: { initdb: { database: DB_NAME, owner: DB_USER } },
      enableSuperuserAccess: false,
      storage: { size: cnpg.storageSize, ...(cnpg.storageClass ? { storageClass: cnpg.storageClass } : {}) },
      ...(cnpg.synchronousStandbys > 0
        ? {
            postgresql: {
              // Quorum commit: each commit waits for this many standbys (any of them), and
              // writes block rather than silently going asynchronous when too few are up.
              synchronous: { method: "any", number: cnpg.synchronousStandbys, dataDurability: "required" },
            },
          }
        : {}),
      // Instances on distinct nodes, or a node loss takes the primary and its standby together.
      affinity: {
        enablePodAntiAffinity: true,
        topologyKey: "kubernetes.io/hostname",
        podAntiAffinityType: multi ? "required" : "preferred",
      },
      resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
      ...(cnpg.backups.kind === "barman" ? { backup: barmanBackup(cnpg.backups) } : {}),
    },
  };
}

function barmanBackup(b: Extract<BackupSettings, { kind: "barman" }>) {
  return {
    retentionPolicy: b.retentionPolicy,
    barmanObjectStore: {
      destinationPath: b.destinationPath,
      ...(b.endpointURL ? { endpointURL: b.endpointURL } : {}),
      s3Credentials: b.credentialsSecret
        ? {
            accessKeyId: { name: b.credentialsSecret, key: "ACCESS_KEY_ID" },
            secretAccessKey: { name: b.credentialsSecret, key: "ACCESS_SECRET_KEY" },
          }
        : { inheritFromIAMRole: true },
    },
  };
}

/** Base backups on the configured schedule (WAL is archived continuously by the Cluster). */
export function cnpgScheduledBackupSpec(
  namespace: string,
  backups: Extract<BackupSettings, { kind: "barman" }>,
) {
  return {
    apiVersion: CNPG_API_VERSION,
    kind: "ScheduledBackup",
    metadata: { name: `${DB_CLUSTER_NAME}-base`, namespace, labels },
    spec: {
      schedule: backups.schedule,
      cluster: { name: DB_CLUSTER_NAME },
      method: "barmanObjectStore",
      backupOwnerReference: "self",
      immediate: true,
    },
  };
}

/** Docker: the gateway (host networking) reaches its Postgres on loopback. */
export function postgresUrl(password: string, host = "127.0.0.1", port = POSTGRES_PORT): string {
  return `postgres://${DB_USER}:${encodeURIComponent(password)}@${host}:${port}/${DB_NAME}`;
}

/** The `postgres` image's settings; the password joins them inside a secret input. */
export function postgresContainerEnv(): string[] {
  return [`POSTGRES_USER=${DB_USER}`, `POSTGRES_DB=${DB_NAME}`, "PGDATA=/var/lib/postgresql/data/pgdata"];
}
