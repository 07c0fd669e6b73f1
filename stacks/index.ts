/**
 * Pulumi entry point (`main: stacks/` in Pulumi.yaml): read and validate config,
 * create the components for the chosen target, export what the harness reads.
 */
import * as pulumi from "@pulumi/pulumi";
import { EngineImages } from "./components/engineImages.ts";
import { parseStackConfig } from "./config.ts";
import { deployDocker } from "./targets/docker.ts";
import { deployKubernetes } from "./targets/kubernetes.ts";

const config = new pulumi.Config("gonka");
// Which keys the CLI holds as secrets (`isConfigSecret` is the SDK's own, marked internal): a
// database URL or password set without `--secret` is refused before anything is created.
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;
const secretKeys = ["database", "databasePassword"].filter((k) => isConfigSecret(`gonka:${k}`));
// Validation throws before any resource is registered.
const cfg = parseStackConfig(
  {
    target: config.get("target"),
    models: config.getObject("models"),
    gateway: config.getObject("gateway"),
    images: config.getObject("images"),
    docker: config.getObject("docker"),
    kubernetes: config.getObject("kubernetes"),
    fabric: config.getObject("fabric"),
    database: config.getObject("database"),
  },
  secretKeys,
);
const sshPrivateKey = config.getSecret("sshPrivateKey");
const databasePassword = config.getSecret("databasePassword");
// Read again as a secret so the URL stays wrapped in every resource input.
const databaseUrl = cfg.database.url
  ? config.requireSecretObject<{ url: string }>("database").apply((d) => d.url)
  : undefined;
const secrets = {
  adminKey: config.requireSecret("adminKey"),
  hfToken: config.requireSecret("hfToken"),
  engineApiKey: config.requireSecret("engineApiKey"),
  redisPassword: config.requireSecret("redisPassword"),
  ...(sshPrivateKey ? { sshPrivateKey } : {}),
  ...(databasePassword ? { databasePassword } : {}),
  ...(databaseUrl ? { databaseUrl } : {}),
};

const images = new EngineImages("images", {
  settings: cfg.images,
  enginePresets: cfg.models.map((m) => m.preset),
  gatewayTag: pulumi.getStack(),
});
const deployment =
  cfg.target === "kubernetes" ? deployKubernetes(cfg, images, secrets) : deployDocker(cfg, images, secrets);

export const target = cfg.target;
export const gatewayUrl = deployment.gateway.url;
/** Origin of the admin API (`${adminUrl}/admin/...`): the gateway's ops listener, never the public one. */
export const adminUrl = deployment.gateway.opsUrl;
/** Origin of `/metrics`, `/health/models`, `/gonka/info` (same ops listener). */
export const opsUrl = deployment.gateway.opsUrl;
export const adminKey = secrets.adminKey;
/** Served model ids with their cost tier and replica URLs, in config order. */
export const models = pulumi.all(deployment.servers.map((s) => s.replicaUrls)).apply((urls) =>
  cfg.models.map((m, i) => ({
    id: m.preset.id,
    engine: m.preset.engine,
    costTier: m.preset.costTier,
    layout: m.layout.id,
    replicas: m.replicas,
    replicaUrls: urls[i] ?? [],
  })),
);
/** The exact config the gateway runs with (for the harness and for debugging routing). */
export const gatewayConfig = deployment.gateway.configJson;
