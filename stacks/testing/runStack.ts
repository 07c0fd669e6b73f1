/**
 * Runs the real program (`stacks/index.ts`) under `pulumi.runtime.setMocks` and
 * captures every resource registration. One call per vitest file: Pulumi's
 * runtime is process-global, and vitest isolates each file in its own worker.
 */
import { createHash } from "node:crypto";
import type * as pulumiType from "@pulumi/pulumi";
import { type Environment, readStackFile, secretKeysOf, toPulumiConfig } from "./stackFiles.ts";

export interface CapturedResource {
  readonly type: string;
  readonly name: string;
  /** Inputs as the engine received them; secrets keep their `4dabf18193072939515e22adb298388d` wrapper. */
  readonly inputs: Record<string, unknown>;
  readonly custom: boolean;
}

export interface StackRun {
  readonly resources: readonly CapturedResource[];
  /** URNs of every registered resource (components included); children carry their parent type. */
  readonly urns: readonly string[];
  readonly outputs: Record<string, unknown>;
  readonly secretOutputs: readonly string[];
}

export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

/** A plausible digest derived from a name, so refs are stable across runs. */
export function fakeDigest(seed: string): string {
  return `sha256:${createHash("sha256").update(seed).digest("hex")}`;
}

/** What providers would compute on create and the program reads back. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const state = { ...inputs };
  if (type === "docker-build:index:Image") {
    const tags = inputs["tags"] as string[];
    state["ref"] = `${tags[0]}@${fakeDigest(name)}`;
    state["digest"] = fakeDigest(name);
  }
  if (type === "docker:index/remoteImage:RemoteImage") state["imageId"] = fakeDigest(`id-${name}`);
  return state;
}

export async function runStack(
  env: Environment,
  edit: (values: Record<string, unknown>) => Record<string, unknown> = (v) => v,
): Promise<StackRun> {
  const pulumi: typeof pulumiType = await import("@pulumi/pulumi");
  const resources: CapturedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          custom: args.custom ?? true,
        });
        return { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) };
      },
      call: (args) => args.inputs,
    },
    "gonka",
    env,
    false,
  );
  const file = readStackFile(env);
  const values = edit(file.values);
  pulumi.runtime.setAllConfig(toPulumiConfig(values), secretKeysOf(file, values));
  const program = (await import("../index.ts")) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(program)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = await new Promise((resolve) => value.apply(resolve));
      if (await (value as unknown as { isSecret: Promise<boolean> }).isSecret) secretOutputs.push(key);
    } else outputs[key] = value;
  }
  const settings = (await import("@pulumi/pulumi/runtime/settings.js")) as unknown as {
    waitForRPCs(): Promise<void>;
    getMonitor(): { getRegisteredResources(): Map<string, unknown> };
  };
  await settings.waitForRPCs();
  const urns = [...settings.getMonitor().getRegisteredResources().keys()];
  return { resources, urns, outputs, secretOutputs };
}

/** Program runs that must fail: resolves with the thrown error, or fails if the program succeeded. */
export async function runStackExpectingError(
  env: Environment,
  edit: (values: Record<string, unknown>) => Record<string, unknown>,
  /** Keys set without `--secret` even though they carry a secret. */
  plaintext: readonly string[] = [],
): Promise<{ error: Error; registered: number }> {
  let registered = 0;
  const pulumi: typeof pulumiType = await import("@pulumi/pulumi");
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered++;
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "gonka",
    env,
    false,
  );
  const file = readStackFile(env);
  const values = edit(file.values);
  pulumi.runtime.setAllConfig(toPulumiConfig(values), secretKeysOf(file, values, plaintext));
  try {
    await import("../index.ts");
  } catch (error) {
    return { error: error as Error, registered };
  }
  throw new Error("the program accepted a config it should have rejected");
}
