/**
 * The `docker buildx bake` file for the images the stacks deploy, generated from the catalog
 * and the same build specs `gonka:images.build` uses (specs/images.ts), so CI builds exactly
 * what a developer's `pulumi up` would. `node stacks/bake.ts > docker-bake.json`; the images
 * workflow (.github/workflows/images.yml) builds it once, pushes, and promotes the digests.
 */
import { PRESETS } from "../catalog/index.ts";
import { type BuiltImage, imageBuildSpec } from "./specs/images.ts";

/** A bake variable reference, `${NAME}`, interpolated by bake (not by JavaScript). */
export const bakeVar = (name: string): string => `\${${name}}`;

export interface BakeFile {
  variable: Record<string, { default: string }>;
  group: { default: { targets: string[] } };
  target: Record<
    string,
    { context: string; dockerfile: string; args: Record<string, string>; tags: string[]; platforms: string[] }
  >;
}

/**
 * Targets named like the `gonka:images.refs` keys. Bake variables: REGISTRY (where to push),
 * GATEWAY_TAG (the commit), VLLM_BASE / LLAMACPP_BASE (the engine bases, which the workflow
 * resolves to `tag@sha256:…` before building, so the bases are pinned too).
 */
export function bakeFile(): BakeFile {
  const vllm = PRESETS.find((p) => p.engine === "vllm");
  const llamacpp = PRESETS.find((p) => p.engine === "llamacpp");
  if (!vllm || !llamacpp) throw new Error("the catalog has no vLLM or no llama.cpp preset");
  const specs: [BuiltImage, ReturnType<typeof imageBuildSpec>][] = [
    ["gateway", imageBuildSpec("gateway", { gatewayVersion: bakeVar("GATEWAY_TAG") })],
    ["vllm", imageBuildSpec("vllm", { enginePreset: vllm })],
    ["llamacpp", imageBuildSpec("llamacpp", { enginePreset: llamacpp })],
  ];
  const variable: BakeFile["variable"] = {
    REGISTRY: { default: "ghcr.io/gonka-ai" },
    GATEWAY_TAG: { default: "dev" },
    VLLM_BASE: { default: vllm.image },
    LLAMACPP_BASE: { default: llamacpp.image },
  };
  const target: BakeFile["target"] = {};
  for (const [name, spec] of specs) {
    const args = { ...spec.buildArgs };
    if ("VLLM_BASE" in args) args["VLLM_BASE"] = bakeVar("VLLM_BASE");
    if ("LLAMACPP_BASE" in args) args["LLAMACPP_BASE"] = bakeVar("LLAMACPP_BASE");
    target[name] = {
      context: spec.relative.context,
      dockerfile: spec.relative.dockerfile,
      args,
      tags: [`${bakeVar("REGISTRY")}/${spec.repository}:${spec.tag}`],
      platforms: ["linux/amd64"],
    };
  }
  return { variable, group: { default: { targets: Object.keys(target) } }, target };
}

if (import.meta.url === `file://${process.argv[1]}`)
  process.stdout.write(`${JSON.stringify(bakeFile(), null, 2)}\n`);
