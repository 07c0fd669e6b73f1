import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { ModelPreset } from "../../catalog/index.ts";
import type { ImageSettings } from "../config.ts";
import { type BuiltImage, imageBuildSpec } from "../specs/images.ts";

export interface EngineImagesArgs {
  /** Registry, base digests and pinning policy from `gonka:images`. */
  readonly settings: ImageSettings;
  /** One preset per engine that this stack serves; decides which engine images are built. */
  readonly enginePresets: readonly ModelPreset[];
  /** Tag for the gateway image (the stack name, so environments do not overwrite each other). */
  readonly gatewayTag: string;
}

/**
 * The images a stack deploys. By default each is `gonka:images.refs.*`, the reference CI pushed
 * and promoted (known at preview, so policies check real images). With `gonka:images.build`,
 * the ones missing from `refs` are built from `images/` with BuildKit and pushed during
 * `pulumi up` (a developer's cluster); their refs carry the pushed digest.
 */
export class EngineImages extends pulumi.ComponentResource {
  /** `registry/name:tag@sha256:…` per built image. */
  public readonly refs: Partial<Record<BuiltImage, pulumi.Output<string>>> = {};

  constructor(name: string, args: EngineImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gonka:images:EngineImages", name, {}, opts);
    const builds: [BuiltImage, ReturnType<typeof imageBuildSpec>][] = [
      ["gateway", imageBuildSpec("gateway", { gatewayVersion: args.gatewayTag })],
    ];
    // Weight staging runs `hf download` from the vLLM image, so it is always built.
    const vllm = args.enginePresets.find((p) => p.engine === "vllm");
    const llamacpp = args.enginePresets.find((p) => p.engine === "llamacpp");
    if (!vllm)
      throw new Error("EngineImages: the vLLM image is needed for weight staging; pass a vLLM preset");
    builds.push([
      "vllm",
      imageBuildSpec("vllm", { enginePreset: vllm, baseDigest: args.settings.baseDigests.vllm }),
    ]);
    if (llamacpp)
      builds.push([
        "llamacpp",
        imageBuildSpec("llamacpp", {
          enginePreset: llamacpp,
          baseDigest: args.settings.baseDigests.llamacpp,
        }),
      ]);
    for (const [kind, spec] of builds) {
      const promoted = args.settings.refs[kind];
      if (promoted) {
        this.refs[kind] = pulumi.output(promoted);
        continue;
      }
      if (!args.settings.build)
        throw new Error(`EngineImages: gonka:images.refs.${kind} is not set and gonka:images.build is off`);
      const image = new dockerBuild.Image(
        spec.repository,
        {
          context: { location: spec.context },
          dockerfile: { location: spec.dockerfile },
          tags: [`${args.settings.registry}/${spec.repository}:${spec.tag}`],
          buildArgs: { ...spec.buildArgs },
          platforms: ["linux/amd64"],
          push: true,
          labels: { "ai.gonka.require-pinned-bases": String(args.settings.requirePinnedBases) },
        },
        { parent: this },
      );
      this.refs[kind] = image.ref;
    }
    this.registerOutputs({ refs: this.refs });
  }

  ref(kind: BuiltImage): pulumi.Output<string> {
    const ref = this.refs[kind];
    if (!ref) throw new Error(`image ${kind} was not built by this stack`);
    return ref;
  }
}
