/**
 * Turns a committed stack file into the other target, so every environment's
 * models are exercised on both Docker hosts and Kubernetes.
 */
import { getLayout, getPreset } from "../../catalog/index.ts";
import { k8sName } from "../specs/k8sModelServer.ts";
import { DUMMY_SECRETS } from "./stackFiles.ts";

interface ModelEntry {
  preset: string;
  layout?: string;
  replicas?: number;
  hosts?: string[];
}

/** Digests an operator would set with `pulumi config set --path`; fake but well-formed, test-only. */
export const TEST_BASE_DIGESTS = { vllm: `sha256:${"1".repeat(64)}`, llamacpp: `sha256:${"2".repeat(64)}` };

export function withBaseDigests(values: Record<string, unknown>): Record<string, unknown> {
  const images = values["gonka:images"] as Record<string, unknown>;
  return { ...values, "gonka:images": { ...images, baseDigests: TEST_BASE_DIGESTS } };
}

/** One generated GPU host per node of every replica, of the layout's GPU type. */
export function asDocker(values: Record<string, unknown>): Record<string, unknown> {
  const hosts: Record<string, unknown>[] = [];
  const models = (values["gonka:models"] as ModelEntry[]).map((m) => {
    const preset = getPreset(m.preset);
    const layout = getLayout(preset, m.layout);
    const names = Array.from(
      { length: (m.replicas ?? 1) * layout.nodes },
      (_, i) => `${k8sName(preset.id)}-${i}`,
    );
    for (const [i, name] of names.entries())
      hosts.push({
        name,
        address: `10.1.${hosts.length}.10`,
        privateAddress: `192.168.${hosts.length}.10`,
        gpuType: layout.gpuType,
        gpus: layout.gpusPerNode,
        ramGiB: 2048,
        weightsDir: i % 2 === 0 ? "/srv/gonka/models" : "/data/models",
      });
    return { ...m, hosts: names };
  });
  const { "gonka:kubernetes": _k8s, ...rest } = values;
  // Docker runs one gateway container; on Postgres in a container beside it unless on SQLite.
  const { maxReplicas: _max, ...gatewayRest } = values["gonka:gateway"] as Record<string, unknown>;
  const gateway = { ...gatewayRest, replicas: 1 };
  const sqlite = (values["gonka:database"] as { kind?: string } | undefined)?.kind === "sqlite";
  return {
    ...rest,
    "gonka:target": "docker",
    "gonka:models": models,
    "gonka:gateway": gateway,
    "gonka:database": sqlite ? { kind: "sqlite" } : { kind: "container" },
    ...(sqlite ? {} : { "gonka:databasePassword": DUMMY_SECRETS["gonka:databasePassword"] }),
    "gonka:docker": { hosts, gatewayHost: hosts[0]?.["name"] },
  };
}

export function asKubernetes(values: Record<string, unknown>): Record<string, unknown> {
  const { "gonka:docker": _docker, ...rest } = values;
  return {
    ...rest,
    "gonka:target": "kubernetes",
    "gonka:kubernetes": {
      namespace: "gonka-dev",
      gpuScheduling: "present",
      installLws: false,
      gpuNodeSelectors: { H100: { "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" } },
    },
  };
}
