/**
 * Stack configuration: one zod schema for `Pulumi.<env>.yaml` and the cross-field
 * checks the schema cannot express (hardware fits the catalog layout, hosts exist).
 * Pure: `parseStackConfig` throws a single error listing every problem before the
 * program creates any resource, so a bad `pulumi up` fails in seconds, not hours.
 */
import { z } from "zod";
import {
  expertOffloadPlan,
  GPU_MEMORY_GIB,
  GPU_USABLE_SHARE,
  type GpuType,
  getLayout,
  getPreset,
  type Layout,
  type ModelPreset,
  validateLayout,
} from "../catalog/index.ts";
import { tierSchema } from "../gateway/config/schema.ts";
import { routerSchema } from "../gateway/tiering/schema.ts";
import { databaseProblems, databaseSchema } from "./databaseConfig.ts";
import { dockerProblems } from "./dockerConfig.ts";
import { routerProblems } from "./routersConfig.ts";
import type { BuiltImage } from "./specs/images.ts";
import { placeOnDockerHosts } from "./specs/placement.ts";

const gpuTypes = Object.keys(GPU_MEMORY_GIB) as [GpuType, ...GpuType[]];
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, "must look like sha256:<64 hex digits>");

/** A layout not in the catalog (e.g. hardware we are trying out); checked like the catalog's own. */
const customLayoutSchema = z.object({
  id: z.string().min(1),
  gpuType: z.enum(gpuTypes),
  gpusPerNode: z.number().int().min(1),
  nodes: z.number().int().min(1).default(1),
  tensorParallel: z.number().int().min(1),
  pipelineParallel: z.number().int().min(1).default(1),
  /** llama.cpp: keep the experts that do not fit in VRAM in host RAM (`--n-cpu-moe`, sized by the catalog). */
  offloadExperts: z.boolean().optional(),
});

const modelEntrySchema = z.object({
  /** Catalog preset id or alias. */
  preset: z.string().min(1),
  /** Catalog layout id, or a custom layout; the preset's first layout when absent. */
  layout: z.union([z.string().min(1), customLayoutSchema]).optional(),
  replicas: z.number().int().min(1).default(1),
  maxModelLen: z.number().int().positive().optional(),
  /** Extra client-facing names, e.g. cost-tier aliases. */
  extraAliases: z.array(z.string().min(1)).default([]),
  /** Docker target only: host names, `replicas × layout.nodes` of them, replica-major. */
  hosts: z.array(z.string().min(1)).optional(),
});

const gatewaySchema = z.object({
  /** Kubernetes: the Deployment's replicas (the HPA's floor); more than 1 needs Postgres. Docker: 1. */
  replicas: z.number().int().min(1).default(1),
  /** Kubernetes: the HPA's ceiling (CPU); default twice `replicas`, no HPA at 1 replica. */
  maxReplicas: z.number().int().min(1).optional(),
  /** Public host name; Kubernetes gets an Ingress for it. */
  domain: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65_535).default(8080),
  /** Overrides the gateway's default tiers (free/standard/enterprise). */
  tiers: z.record(z.string(), tierSchema).optional(),
  reasoningOutput: z.enum(["both", "reasoning", "reasoning_content"]).optional(),
  /** Router aliases for tiering (the gateway config's `routers`); checked against the models. */
  routers: z.array(routerSchema).optional(),
  /** Ingress class for the domain (Kubernetes). */
  ingressClassName: z.string().default("nginx"),
});

const dockerHostSchema = z.object({
  name: z.string().regex(/^[a-z0-9-]+$/, "use lowercase letters, digits and dashes"),
  /** Address the Pulumi runner reaches over SSH (and clients, on the gateway's host). */
  address: z.string().min(1),
  /**
   * Private-network address: engines publish their ports only here (loopback on the gateway's
   * own host), the gateway reaches them here, multi-node replicas rendezvous here. Required for
   * every host that runs engines, except the gateway's host with single-node engines only.
   */
  privateAddress: z.string().min(1).optional(),
  user: z.string().min(1).default("ubuntu"),
  sshPort: z.number().int().default(22),
  gpuType: z.enum(gpuTypes),
  gpus: z.number().int().min(1),
  /** Host RAM, GiB; checked against llama.cpp expert offload needs. */
  ramGiB: z.number().int().positive().optional(),
  weightsDir: z.string().startsWith("/").default("/srv/gonka/models"),
});

const dockerSchema = z.object({
  hosts: z.array(dockerHostSchema).default([]),
  /** Host that runs the gateway and Redis; the first host when absent. */
  gatewayHost: z.string().optional(),
});

const kubernetesSchema = z.object({
  namespace: z.string().default("gonka"),
  /** What makes `nvidia.com/gpu` schedulable: install the device plugin, the GPU operator, or nothing. */
  gpuScheduling: z.enum(["device-plugin", "gpu-operator", "present"]).default("device-plugin"),
  /** Install the LeaderWorkerSet controller (needed for two-node layouts) unless the cluster has it. */
  installLws: z.boolean().default(true),
  /** Node labels that select each GPU type's nodes. */
  gpuNodeSelectors: z.partialRecord(z.enum(gpuTypes), z.record(z.string(), z.string())).default({}),
  tolerations: z
    .array(
      z.object({
        key: z.string(),
        operator: z.enum(["Exists", "Equal"]).default("Exists"),
        value: z.string().optional(),
        effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
      }),
    )
    .default([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]),
  /** ReadWriteMany class for weight volumes (two-node groups mount the same volume). */
  weightsStorageClass: z.string().optional(),
  gatewayStorageClass: z.string().optional(),
  /**
   * Plan without fetching Helm charts (CI: no cluster, no internet): each chart becomes a
   * `gonka:k8s:OfflineChart` that records chart, version and values and renders nothing.
   */
  offlineCharts: z.boolean().default(false),
  /**
   * RuntimeClass for GPU pods. The GPU operator creates `nvidia` (the default in that mode);
   * with `device-plugin` or `present`, nvidia must be the nodes' default container runtime.
   */
  runtimeClassName: z.string().optional(),
});

/** The network between the nodes of a multi-node replica (both targets). */
const fabricSchema = z.object({
  /** InfiniBand / RoCE with GPUDirect RDMA for multi-node layouts; false falls back to NCCL over TCP. */
  rdma: z.boolean().default(true),
  /** Kubernetes: the RDMA device plugin's resource (NVIDIA network operator shared device, or SR-IOV). */
  rdmaResource: z.string().default("rdma/rdma_shared_device_a"),
  /** NCCL_IB_HCA: HCAs NCCL may use (prefix match, `mlx5` = every ConnectX port). */
  ibHca: z.string().default("mlx5"),
  /** NCCL_SOCKET_IFNAME / GLOO_SOCKET_IFNAME: the interface of the private network (bootstrap, gloo). */
  socketIfname: z.string().default("eth0"),
  /** Kubernetes: LWS exclusive-topology key; each group's pods land in one domain (one IB island). */
  exclusiveTopology: z.string().default("topology.kubernetes.io/zone"),
});

const imagesSchema = z.object({
  /** Registry prefix the built images are pushed to, e.g. `ghcr.io/gonka-ai`. */
  registry: z.string().min(1),
  /** Digests of the catalog's engine base images; see images/README in stacks/README.md. */
  baseDigests: z.object({ vllm: digest.optional(), llamacpp: digest.optional() }).default({}),
  /** Refuse to build engine images from a tag alone (prod). */
  requirePinnedBases: z.boolean().default(false),
  /**
   * The images to deploy, as CI built and pushed them (`registry/name:tag@sha256:…`), promoted
   * dev → staging → prod by setting the same digest here (stacks/README.md, "Image promotion").
   * Known at preview, so the policies see real images and real specs.
   */
  refs: z
    .object({ gateway: z.string().min(1), vllm: z.string().min(1), llamacpp: z.string().min(1) })
    .partial()
    .default({}),
  /**
   * Build the images missing from `refs` with BuildKit during `pulumi up` (a developer's own
   * cluster or box). Off by default: deployments use the digests CI promoted.
   */
  build: z.boolean().default(false),
});

export const stackConfigSchema = z.object({
  target: z.enum(["docker", "kubernetes"]),
  models: z.array(modelEntrySchema).min(1, "list at least one model"),
  gateway: gatewaySchema.prefault({}),
  images: imagesSchema,
  docker: dockerSchema.prefault({}),
  kubernetes: kubernetesSchema.prefault({}),
  fabric: fabricSchema.prefault({}),
  database: databaseSchema.prefault({}),
});

export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type DockerHost = z.infer<typeof dockerHostSchema>;
export type KubernetesSettings = z.infer<typeof kubernetesSchema>;
export type GatewaySettings = z.infer<typeof gatewaySchema>;
export type FabricSettings = z.infer<typeof fabricSchema>;
export type ImageSettings = z.infer<typeof imagesSchema>;
export type { DatabaseSettings } from "./databaseConfig.ts";

/** A config model entry resolved against the catalog. */
export interface ResolvedModel {
  readonly preset: ModelPreset;
  readonly layout: Layout;
  readonly replicas: number;
  readonly maxModelLen?: number;
  readonly extraAliases: readonly string[];
  readonly hosts: readonly string[];
}

export interface StackConfig extends Omit<z.infer<typeof stackConfigSchema>, "models"> {
  readonly models: readonly ResolvedModel[];
}

/**
 * Parses raw (already YAML-decoded) config; throws one error naming every problem.
 * `secretKeys`: the `gonka:` keys (without the prefix) the CLI holds as secrets.
 */
export function parseStackConfig(raw: unknown, secretKeys: readonly string[] = []): StackConfig {
  const parsed = stackConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `gonka:${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid stack config:\n  ${lines.join("\n  ")}`);
  }
  const cfg = parsed.data;
  const problems: string[] = [];
  const models: ResolvedModel[] = [];
  for (const [i, m] of cfg.models.entries()) {
    const where = `gonka:models[${i}]`;
    try {
      const preset = getPreset(m.preset);
      const layout = typeof m.layout === "object" ? m.layout : getLayout(preset, m.layout);
      validateLayout(preset, layout);
      if (m.maxModelLen && m.maxModelLen > preset.contextLength)
        problems.push(
          `${where}: maxModelLen ${m.maxModelLen} exceeds ${preset.id}'s ${preset.contextLength}`,
        );
      models.push({ ...m, preset, layout, hosts: m.hosts ?? [] });
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  }
  const ids = models.map((m) => m.preset.id);
  for (const id of new Set(ids))
    if (ids.filter((x) => x === id).length > 1)
      problems.push(`model ${id} is listed twice; raise its replicas instead`);
  for (const m of models) problems.push(...memoryProblems(m.preset, m.layout));
  problems.push(
    ...databaseProblems(cfg.database, {
      target: cfg.target,
      gatewayReplicas: cfg.gateway.replicas,
      secretKeys,
    }),
  );
  if (cfg.gateway.maxReplicas !== undefined && cfg.gateway.maxReplicas < cfg.gateway.replicas)
    problems.push(
      `gonka:gateway.maxReplicas (${cfg.gateway.maxReplicas}) is below gonka:gateway.replicas (${cfg.gateway.replicas})`,
    );
  // Docker runs one gateway container with host networking on the gateway host's API port.
  if (cfg.target === "docker" && cfg.gateway.replicas > 1)
    problems.push(
      `gonka:gateway.replicas is ${cfg.gateway.replicas}; the docker target runs one gateway container ` +
        "(host networking on gonka:docker.gatewayHost): use the kubernetes target for more",
    );
  if (cfg.target === "docker") {
    const dockerIssues = dockerProblems(cfg.docker, models);
    problems.push(...dockerIssues);
    if (dockerIssues.length === 0) {
      try {
        placeOnDockerHosts(models, cfg.docker.hosts);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  }
  // Base digests matter only where this program builds (`build`); promoted refs were built by
  // CI from the bake file, which pins the bases itself.
  const builds =
    cfg.images.build && ["gateway", "vllm", "llamacpp"].some((i) => !cfg.images.refs[i as BuiltImage]);
  if (cfg.images.requirePinnedBases && builds) {
    for (const engine of new Set(models.map((m) => m.preset.engine)))
      if (!cfg.images.baseDigests[engine])
        problems.push(
          `gonka:images.baseDigests.${engine} is required (requirePinnedBases); get it with ` +
            `\`docker buildx imagetools inspect ${models.find((m) => m.preset.engine === engine)?.preset.image}\``,
        );
  }
  problems.push(...imageRefProblems(cfg.images, new Set(models.map((m) => m.preset.engine))));
  if (cfg.gateway.routers) problems.push(...routerProblems(cfg.gateway.routers, models, cfg.gateway.tiers));
  if (problems.length > 0) throw new Error(`invalid stack config:\n  ${problems.join("\n  ")}`);
  return { ...cfg, models };
}

/**
 * Weights must fit in GPU memory with 10% left for KV cache and activations (catches e.g.
 * the 2-bit GGUF on 4×L40S). Where the layout offloads experts, the catalog's offload plan
 * decides what stays on the GPUs: it must exist (the non-expert part fits) and its host RAM
 * is checked against the hosts in `dockerProblems` and requested by the pod.
 */
export function memoryProblems(preset: ModelPreset, layout: Layout): string[] {
  const where = `${preset.id}/${layout.id}`;
  const gpuGiB = GPU_MEMORY_GIB[layout.gpuType] * layout.gpusPerNode * layout.nodes;
  if (layout.offloadExperts) {
    if (preset.engine !== "llamacpp") return [`${where}: expert offload is a llama.cpp layout option`];
    try {
      expertOffloadPlan(preset, layout);
      return [];
    } catch (err) {
      return [(err as Error).message];
    }
  }
  const capacity = gpuGiB * GPU_USABLE_SHARE;
  if (preset.weights.sizeGiB <= capacity) return [];
  return [
    `${where}: weights need ${preset.weights.sizeGiB} GiB but ${layout.nodes}×${layout.gpusPerNode}×${layout.gpuType} ` +
      `hold ${Math.floor(capacity)} GiB usable (${gpuGiB} GiB GPU)`,
  ];
}

/**
 * Without `build`, every image the stack runs must come from `refs`: the gateway, vLLM (weight
 * staging runs `hf download` from it) and llama.cpp when a model uses it.
 */
export function imageRefProblems(images: ImageSettings, engines: ReadonlySet<string>): string[] {
  if (images.build) return [];
  const needed: BuiltImage[] = [
    "gateway",
    "vllm",
    ...(engines.has("llamacpp") ? (["llamacpp"] as const) : []),
  ];
  return needed
    .filter((image) => !images.refs[image])
    .map(
      (image) =>
        `gonka:images.refs.${image} is required: set the digest CI built ` +
        `(\`pulumi config set --path gonka:images.refs.${image} <registry>/<name>:<tag>@sha256:…\`, ` +
        'stacks/README.md "Image promotion"), or gonka:images.build: true to build it during `pulumi up`',
    );
}
