import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ModelPreset } from "../../catalog/index.ts";
import { WEIGHTS_MOUNT } from "../specs/engine.ts";
import { k8sName } from "../specs/k8sModelServer.ts";
import { stagingScript } from "../specs/weightStaging.ts";

interface CommonArgs {
  readonly preset: ModelPreset;
  /** Image with the `hf` CLI and python3 (our vLLM image). */
  readonly image: pulumi.Input<string>;
}

export interface K8sWeightStagingArgs extends CommonArgs {
  readonly target: "kubernetes";
  readonly namespace: pulumi.Input<string>;
  /** Secret holding the Hugging Face token under key `token`. */
  readonly hfTokenSecret: pulumi.Input<string>;
  /** ReadWriteMany class: multi-node groups mount the same volume. */
  readonly storageClass?: string;
}

export interface DockerWeightStagingArgs extends CommonArgs {
  readonly target: "docker";
  readonly connection: command.types.input.remote.ConnectionArgs;
  readonly hostWeightsDir: string;
  /** Sent on stdin, so it never appears in a command line or resource input in clear. */
  readonly hfToken: pulumi.Input<string>;
}

/**
 * Downloads a model's weights once per volume (Kubernetes) or host (Docker) and
 * verifies them; model servers depend on it and start with HF_HUB_OFFLINE=1.
 */
export class WeightStaging extends pulumi.ComponentResource {
  /** PVC name (Kubernetes) or host folder (Docker) holding `<org>/<repo>`. */
  public readonly location: pulumi.Output<string>;

  constructor(
    name: string,
    args: K8sWeightStagingArgs | DockerWeightStagingArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("gonka:models:WeightStaging", name, {}, opts);
    const script = stagingScript(
      args.preset,
      args.target === "kubernetes" ? WEIGHTS_MOUNT : args.hostWeightsDir,
    );
    if (args.target === "kubernetes") {
      const claimName = `weights-${k8sName(args.preset.id)}`;
      const pvc = new k8s.core.v1.PersistentVolumeClaim(
        `${name}-pvc`,
        {
          metadata: { name: claimName, namespace: args.namespace },
          spec: {
            accessModes: ["ReadWriteMany"],
            resources: { requests: { storage: `${Math.ceil(args.preset.weights.sizeGiB * 1.15)}Gi` } },
            ...(args.storageClass ? { storageClassName: args.storageClass } : {}),
          },
        },
        // The Job binds it; do not wait for binding on WaitForFirstConsumer classes.
        { parent: this },
      );
      new k8s.batch.v1.Job(
        `${name}-job`,
        {
          metadata: { name: `stage-${k8sName(args.preset.id)}`, namespace: args.namespace },
          spec: {
            backoffLimit: 3,
            template: {
              spec: {
                restartPolicy: "OnFailure",
                containers: [
                  {
                    name: "stage",
                    image: args.image,
                    command: ["bash", "-c", script],
                    env: [
                      {
                        name: "HF_TOKEN",
                        valueFrom: { secretKeyRef: { name: args.hfTokenSecret, key: "token" } },
                      },
                      // huggingface_hub >= 1.0 downloads over Xet; hf_transfer is a no-op there.
                      { name: "HF_XET_HIGH_PERFORMANCE", value: "1" },
                    ],
                    // Xet's high-performance mode buffers aggressively; below ~64 GiB it gets OOM-killed.
                    resources: { requests: { cpu: "8", memory: "64Gi" }, limits: { memory: "96Gi" } },
                    volumeMounts: [{ name: "weights", mountPath: WEIGHTS_MOUNT }],
                    securityContext: { privileged: false, allowPrivilegeEscalation: false },
                  },
                ],
                volumes: [{ name: "weights", persistentVolumeClaim: { claimName: pvc.metadata.name } }],
              },
            },
          },
        },
        // Pulumi waits for the Job to complete; a day covers 600 GB on a slow link.
        { parent: this, customTimeouts: { create: "24h", update: "24h" } },
      );
      this.location = pvc.metadata.name;
    } else {
      const encoded = Buffer.from(script).toString("base64");
      const dir = args.hostWeightsDir;
      new command.remote.Command(
        `${name}-download`,
        {
          connection: args.connection,
          // The token arrives on stdin and is passed to the container by name only (`-e HF_TOKEN`).
          create: pulumi.interpolate`read -r HF_TOKEN && export HF_TOKEN && docker run --rm -e HF_TOKEN -e HF_XET_HIGH_PERFORMANCE=1 -v '${dir}:${dir}' --entrypoint bash ${args.image} -c "$(echo ${encoded} | base64 -d)"`,
          stdin: pulumi.secret(pulumi.output(args.hfToken).apply((t) => `${t}\n`)),
          triggers: [args.preset.weights.repo, args.preset.weights.include ?? ""],
        },
        { parent: this, customTimeouts: { create: "24h", update: "24h" } },
      );
      this.location = pulumi.output(dir);
    }
    this.registerOutputs({ location: this.location });
  }
}
