/**
 * `gonka:database`: where the gateway keeps API keys and usage. SQLite is one file per
 * gateway process, so a stack with more than one gateway replica needs Postgres: a
 * CloudNativePG cluster on Kubernetes, a container beside the gateway on Docker, or an
 * external server whose URL is a Pulumi secret. Pure: the checks return messages that
 * `parseStackConfig` reports with every other problem.
 */
import { z } from "zod";

const backupsSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("off") }),
  z.object({
    /** CloudNativePG's Barman Cloud backups (base backups + WAL archive) to an object store. */
    kind: z.literal("barman"),
    /** e.g. `s3://gonka-backups/prod`. */
    destinationPath: z.string().regex(/^(s3|gs|https?):\/\//, "must be an s3://, gs:// or https:// URL"),
    /** S3-compatible endpoint (MinIO, R2, …); AWS when absent. */
    endpointURL: z.url().optional(),
    /** Kubernetes Secret with keys ACCESS_KEY_ID and ACCESS_SECRET_KEY; absent: the pods' IAM role. */
    credentialsSecret: z.string().min(1).optional(),
    /** Base backups and WAL kept this long (CNPG's `XXd|w|m`). */
    retentionPolicy: z
      .string()
      .regex(/^[1-9][0-9]*[dwm]$/, "like 30d, 4w or 6m")
      .default("30d"),
    /** Base-backup schedule, CNPG's six-field cron (seconds first). */
    schedule: z.string().min(1).default("0 0 3 * * *"),
  }),
]);

export const databaseSchema = z.object({
  /**
   * `sqlite`: the gateway's embedded file (one replica only). `cnpg`: a CloudNativePG cluster
   * (Kubernetes). `container`: a `postgres` container on the gateway's host (Docker).
   * `external`: `url`. Default: `cnpg` on Kubernetes, `container` on Docker.
   */
  kind: z.enum(["sqlite", "cnpg", "container", "external"]).optional(),
  /** `external` only: `postgres://…`; set with `pulumi config set --secret --path gonka:database.url`. */
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional(),
  cnpg: z
    .object({
      /** Install the CloudNativePG operator (Helm chart) unless the cluster runs one already. */
      installOperator: z.boolean().default(true),
      /** PostgreSQL instances: 1 primary + standbys. */
      instances: z.number().int().min(1).default(1),
      /** Standbys every commit waits for (quorum, `method: any`); 0 = asynchronous replication. */
      synchronousStandbys: z.number().int().min(0).default(0),
      storageSize: z
        .string()
        .regex(/^[1-9][0-9]*(Gi|Ti)$/, "like 20Gi")
        .default("20Gi"),
      storageClass: z.string().optional(),
      backups: backupsSchema.default({ kind: "off" }),
    })
    .prefault({}),
});

export type DatabaseSettings = z.infer<typeof databaseSchema>;
export type DatabaseKind = NonNullable<DatabaseSettings["kind"]>;
export type BackupSettings = DatabaseSettings["cnpg"]["backups"];

/** The database kind a stack runs with, `kind` or the target's default. */
export function databaseKind(db: DatabaseSettings, target: "docker" | "kubernetes"): DatabaseKind {
  return db.kind ?? (target === "kubernetes" ? "cnpg" : "container");
}

export interface DatabaseContext {
  readonly target: "docker" | "kubernetes";
  readonly gatewayReplicas: number;
  /**
   * Config keys (without `gonka:`) the CLI marked secret: `database` when its `url` was set with
   * `--secret --path`, `databasePassword`.
   */
  readonly secretKeys: readonly string[];
}

export function databaseProblems(db: DatabaseSettings, ctx: DatabaseContext): string[] {
  const kind = databaseKind(db, ctx.target);
  const problems: string[] = [];
  if (kind === "cnpg" && ctx.target !== "kubernetes")
    problems.push("gonka:database.kind cnpg needs target kubernetes (use container or external on docker)");
  if (kind === "container" && ctx.target !== "docker")
    problems.push("gonka:database.kind container needs target docker (use cnpg or external on kubernetes)");
  if (kind === "external" && !db.url)
    problems.push(
      "gonka:database.kind external needs gonka:database.url: pulumi config set --secret --path gonka:database.url postgres://…",
    );
  if (kind !== "external" && db.url)
    problems.push(
      `gonka:database.url is set but gonka:database.kind is ${kind}; set kind: external to use it`,
    );
  // The URL carries the password: a plain-text value would sit in Pulumi.<env>.yaml and in the state.
  if (db.url && !ctx.secretKeys.includes("database"))
    problems.push(
      "gonka:database.url is in plain text; set it with `pulumi config set --secret --path gonka:database.url <url>`",
    );
  if (kind === "container" && !ctx.secretKeys.includes("databasePassword"))
    problems.push(
      "gonka:database.kind container needs the Postgres password as a secret: " +
        'pulumi config set --secret gonka:databasePassword "$(openssl rand -hex 32)"',
    );
  if (kind === "sqlite" && ctx.gatewayReplicas > 1)
    problems.push(
      `gonka:gateway.replicas is ${ctx.gatewayReplicas}, but gonka:database.kind is sqlite: each replica would keep ` +
        "its own keys and usage in its own file, and keys issued by one would not work on another. Use one replica " +
        "on SQLite, or Postgres (kind cnpg, container or external) for more.",
    );
  const { instances, synchronousStandbys } = db.cnpg;
  if (kind === "cnpg" && synchronousStandbys >= instances)
    problems.push(
      `gonka:database.cnpg.synchronousStandbys (${synchronousStandbys}) must be below instances (${instances}): ` +
        "a commit cannot wait for more standbys than the cluster has",
    );
  return problems;
}
