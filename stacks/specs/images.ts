/**
 * Images: the three we build from `images/` and the third-party ones we run as-is.
 * Third-party images are pinned by tag *and* digest; the digests were taken from
 * public repositories that pin the same tags (see stacks/README.md, "Image digests")
 * and should be refreshed with `docker buildx imagetools inspect <tag>`.
 */
import { fileURLToPath } from "node:url";
import type { Engine, ModelPreset } from "../../catalog/index.ts";

/**
 * The repository root, from this module's own location. The Pulumi engine runs the program and
 * its providers in `stacks/` (`main: stacks/`), so paths relative to the working directory point
 * into the wrong folder; `pulumi.runtime.getRootDirectory()` is no help either (outside the
 * language host it returns the literal string "rootDirectory").
 */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** An absolute path under the repository root. */
function fromRoot(relative: string): string {
  return relative === "." ? REPOSITORY_ROOT : `${REPOSITORY_ROOT}/${relative}`;
}

export const REDIS_IMAGE =
  "redis:7.4-alpine@sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf";
export const DCGM_EXPORTER_IMAGE =
  "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless@sha256:e9030b4fca0c8f110032f3b151b030e7e9db56604b407cf79631e1a3218b35e0";

/**
 * The docker target's Postgres (database kind `container`). The digest is the multi-arch index
 * many public repositories pin for this tag; refresh with `docker buildx imagetools inspect`.
 */
export const POSTGRES_IMAGE =
  "postgres:17.6-alpine@sha256:ef257d85f76e48da1c64832459b59fcaba1a4dac97bf5d7450c77753542eee94";

/** Helm charts the Kubernetes target installs unless the cluster already has them. */
export const CHARTS = {
  devicePlugin: {
    chart: "nvidia-device-plugin",
    version: "0.19.3",
    repo: "https://nvidia.github.io/k8s-device-plugin",
  },
  gpuOperator: { chart: "gpu-operator", version: "v25.10.1", repo: "https://helm.ngc.nvidia.com/nvidia" },
  lws: { chart: "oci://registry.k8s.io/lws/charts/lws", version: "0.8.0" },
  /**
   * CloudNativePG operator 1.30.0. Its version also pins the PostgreSQL image of the clusters
   * (the operator's default), and it is the last minor with in-tree Barman Cloud backups.
   */
  cnpg: { chart: "cloudnative-pg", version: "0.29.0", repo: "https://cloudnative-pg.github.io/charts" },
} as const;

export type BuiltImage = "vllm" | "llamacpp" | "gateway";

export interface ImageBuildSpec {
  /** Name under the registry, e.g. `gonka-vllm-kimi-k2.5`. */
  readonly repository: string;
  /** Build context, absolute (resolved from this module, whatever the working directory). */
  readonly context: string;
  /** Dockerfile, absolute. */
  readonly dockerfile: string;
  /** Both relative to the repository root, as the bake file names them. */
  readonly relative: { readonly context: string; readonly dockerfile: string };
  /** Tag we push; the deploy uses the digest the push returns. */
  readonly tag: string;
  readonly buildArgs: Readonly<Record<string, string>>;
}

/** The catalog tag of an engine (`vllm/vllm-openai:v0.20.2` → `v0.20.2`). */
export function tagOf(image: string): string {
  const tag = image.slice(image.lastIndexOf(":") + 1);
  if (!tag || tag.includes("/")) throw new Error(`image ${image} has no tag`);
  return tag;
}

/** Base image reference for an engine build: the catalog tag, plus the digest when known. */
export function engineBase(preset: ModelPreset, digest?: string): string {
  return digest ? `${preset.image}@${digest}` : preset.image;
}

export function imageBuildSpec(
  image: BuiltImage,
  opts: { enginePreset?: ModelPreset; baseDigest?: string; gatewayVersion?: string },
): ImageBuildSpec {
  if (image === "gateway") {
    // The gateway image needs catalog/ and gateway/ from the repository root.
    return {
      repository: "gonka-gateway",
      context: fromRoot("."),
      dockerfile: fromRoot("images/gateway/Dockerfile"),
      relative: { context: ".", dockerfile: "images/gateway/Dockerfile" },
      tag: opts.gatewayVersion ?? "latest",
      buildArgs: {},
    };
  }
  const preset = opts.enginePreset;
  if (!preset || preset.engine !== image) throw new Error(`building ${image} needs a ${image} preset`);
  const dir = image === "vllm" ? "vllm-kimi-k2.5" : "llamacpp-gguf";
  return {
    repository: `gonka-${dir}`,
    context: fromRoot(`images/${dir}`),
    dockerfile: fromRoot(`images/${dir}/Dockerfile`),
    relative: { context: `images/${dir}`, dockerfile: `images/${dir}/Dockerfile` },
    tag: tagOf(preset.image),
    buildArgs:
      image === "vllm"
        ? // VLLM_TAG fetches the tool chat templates of the same vLLM release as the base.
          { VLLM_BASE: engineBase(preset, opts.baseDigest), VLLM_TAG: tagOf(preset.image) }
        : { LLAMACPP_BASE: engineBase(preset, opts.baseDigest) },
  };
}

/**
 * ENTRYPOINT of each engine image (images/<name>/Dockerfile; a test reads the Dockerfiles and
 * asserts these). Containers pass only arguments, which the runtime appends to it.
 */
export const ENGINE_ENTRYPOINTS: Readonly<Record<Engine, readonly string[]>> = {
  vllm: ["vllm", "serve"],
  llamacpp: ["/app/llama-server"],
};

/**
 * The argv a container really runs. Kubernetes `command` / Docker `entrypoints` replace the
 * image ENTRYPOINT (and drop its CMD); Kubernetes `args` / Docker `command` replace the CMD.
 * Our engine images have no CMD of their own.
 */
export function effectiveArgv(
  imageEntrypoint: readonly string[],
  override: { entrypoint?: readonly string[] | undefined; cmd?: readonly string[] | undefined },
): string[] {
  return [...(override.entrypoint ?? imageEntrypoint), ...(override.cmd ?? [])];
}

/** Empty when `argv` runs the engine once; otherwise what is wrong with it. */
export function engineArgvProblems(engine: Engine, argv: readonly string[]): string[] {
  const entry = ENGINE_ENTRYPOINTS[engine];
  const problems: string[] = [];
  if (entry.some((t, i) => argv[i] !== t))
    problems.push(
      `runs "${argv.slice(0, entry.length).join(" ")}" instead of the image's "${entry.join(" ")}"`,
    );
  const executables = new Set([
    ...entry,
    ...entry.map((t) => t.split("/").at(-1) ?? t),
    "vllm",
    "serve",
    "llama-server",
  ]);
  const next = argv[entry.length];
  if (next !== undefined && executables.has(next))
    problems.push(
      `repeats the executable after the ENTRYPOINT: "${argv.slice(0, entry.length + 2).join(" ")}"`,
    );
  return problems;
}

/** Which built image runs an engine. */
export function imageForEngine(engine: Engine): BuiltImage {
  return engine;
}

/** True for `name@sha256:<64 hex>` and bare image ids. */
export function isDigestPinned(ref: string): boolean {
  return /@sha256:[0-9a-f]{64}$/.test(ref) || /^sha256:[0-9a-f]{64}$/.test(ref);
}
