import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerHost } from "../config.ts";

export interface GpuHostArgs {
  readonly host: DockerHost;
  /** PEM private key for SSH (a Pulumi secret); the SSH agent is used when absent. */
  readonly sshPrivateKey?: pulumi.Input<string>;
}

/** Fails the deployment early when a host does not match its config; creates the weights folder. */
export function hostCheckScript(host: DockerHost): string {
  return [
    "set -eu",
    "command -v nvidia-smi >/dev/null || { echo 'NVIDIA driver missing (nvidia-smi not found)'; exit 1; }",
    `gpus=$(nvidia-smi -L | grep -c '^GPU ')`,
    `[ "$gpus" -ge ${host.gpus} ] || { echo "config says ${host.gpus} GPUs, host has $gpus"; exit 1; }`,
    // Docker's --gpus (our device requests) needs the NVIDIA container toolkit, registered either
    // as the nvidia runtime or through CDI specs (nvidia-ctk cdi generate); accept both.
    "{ docker info --format '{{json .Runtimes}}' | grep -q nvidia || nvidia-ctk cdi list 2>/dev/null | grep -q 'nvidia.com/gpu='; } || { echo 'NVIDIA container toolkit missing (no nvidia runtime in docker info, no nvidia.com/gpu CDI devices)'; exit 1; }",
    `sudo mkdir -p '${host.weightsDir}' && sudo chown "$(id -u):$(id -g)" '${host.weightsDir}'`,
    "echo ok",
  ].join("\n");
}

/**
 * One GPU host of the docker target: checked over SSH, then driven by its own
 * Docker provider (`ssh://user@host`) so every container lands on the right box.
 */
export class GpuHost extends pulumi.ComponentResource {
  public readonly provider: docker.Provider;
  public readonly connection: command.types.input.remote.ConnectionArgs;
  /** The SSH check; anything touching the host waits for it. */
  public readonly checked: command.remote.Command;

  constructor(name: string, args: GpuHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gonka:docker:GpuHost", name, {}, opts);
    const h = args.host;
    this.connection = {
      host: h.address,
      user: h.user,
      port: h.sshPort,
      ...(args.sshPrivateKey ? { privateKey: args.sshPrivateKey } : {}),
    };
    this.checked = new command.remote.Command(
      `${name}-check`,
      { connection: this.connection, create: hostCheckScript(h), triggers: [h.gpus, h.weightsDir] },
      { parent: this },
    );
    this.provider = new docker.Provider(
      `${name}-docker`,
      {
        host: `ssh://${h.user}@${h.address}:${h.sshPort}`,
        sshOpts: ["-o", "StrictHostKeyChecking=accept-new"],
      },
      { parent: this, dependsOn: [this.checked] },
    );
    this.registerOutputs({});
  }
}
