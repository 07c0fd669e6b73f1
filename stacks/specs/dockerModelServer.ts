/**
 * Docker specs for one engine process on a GPU host: GPUs by device request,
 * host IPC and a sized /dev/shm (NCCL needs both), weights bind-mounted read-only.
 * Multi-node replicas use host networking so torch.distributed/NCCL can reach peers.
 * Engines are reachable only on the host's private address (loopback when the gateway
 * runs on the same host) and answer only callers holding the engine API key.
 */

import type { Layout, ModelPreset } from "../../catalog/index.ts";
import {
  engineArgs,
  engineEnv,
  engineKeyEnvName,
  fabricEnv,
  HEALTH_PATH,
  STARTUP_BUDGET_SECONDS,
  shmGiB,
  WEIGHTS_MOUNT,
} from "./engine.ts";
import type { EngineNode } from "./placement.ts";

/** InfiniBand / RoCE between the hosts of a multi-node replica. */
export interface DockerFabric {
  readonly rdma: boolean;
  readonly ibHca: string;
  readonly socketIfname: string;
}

export interface DockerEngineInput {
  readonly preset: ModelPreset;
  readonly layout: Layout;
  readonly maxModelLen?: number;
  readonly replica: number;
  readonly node: EngineNode;
  /** The leader node of this replica (rank 0); its rendezvous address is `--master-addr`. */
  readonly leader: EngineNode;
  readonly hostWeightsDir: string;
  /** Address the engine's HTTP port is reachable on: the host's private address, or loopback. */
  readonly bindAddress: string;
  readonly fabric: DockerFabric;
}

/** Health check command that works in each engine image (vLLM's has python, llama.cpp's has curl). */
export function healthCheckCommand(preset: ModelPreset, port: number, host = "127.0.0.1"): string[] {
  const url = `http://${host}:${port}${HEALTH_PATH}`;
  return preset.engine === "vllm"
    ? ["CMD", "python3", "-c", `import urllib.request; urllib.request.urlopen("${url}", timeout=5)`]
    : ["CMD", "curl", "-fsS", url];
}

export function dockerEngineSpec(input: DockerEngineInput) {
  const { preset, layout, node } = input;
  const multi = layout.nodes > 1;
  const serves = node.nodeRank === 0;
  // Host networking has no port publishing: the leader itself binds only the private/loopback address.
  const httpHost = multi ? input.bindAddress : undefined;
  const args = engineArgs({
    preset,
    layout,
    port: node.port,
    ...(input.maxModelLen ? { maxModelLen: input.maxModelLen } : {}),
    ...(multi
      ? {
          nodeRank: node.nodeRank,
          leaderAddress: input.leader.rendezvousAddress,
          ...(input.leader.masterPort !== undefined ? { masterPort: input.leader.masterPort } : {}),
        }
      : {}),
    ...(httpHost ? { host: httpHost } : {}),
  });
  const rdma = multi && input.fabric.rdma;
  const env: Record<string, string> = {
    ...engineEnv(preset),
    // torch.distributed and NCCL advertise this address to peers: the private one, never the public.
    ...(multi ? { VLLM_HOST_IP: node.rendezvousAddress, ...fabricEnv(input.fabric) } : {}),
  };
  return {
    name: `gonka-${preset.id}-r${input.replica}-n${node.nodeRank}`,
    // Docker appends `command` to the image's ENTRYPOINT (`vllm serve`, `/app/llama-server`).
    command: args,
    envs: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    /** Added by the component inside a Pulumi secret: `<keyEnv>=<engine key>`. */
    keyEnv: engineKeyEnvName(preset),
    deviceRequests: [{ driver: "nvidia", deviceIds: [...node.deviceIds], capabilities: ["gpu"] }],
    ipcMode: "host",
    shmSize: shmGiB(layout) * 1024,
    networkMode: multi ? "host" : "bridge",
    ports: multi ? [] : [{ internal: node.port, external: node.port, ip: input.bindAddress }],
    volumes: [
      {
        hostPath: `${input.hostWeightsDir}/${preset.weights.repo}`,
        containerPath: `${WEIGHTS_MOUNT}/${preset.weights.repo}`,
        readOnly: true,
      },
    ],
    ...(rdma
      ? {
          devices: [{ hostPath: "/dev/infiniband", containerPath: "/dev/infiniband", permissions: "rwm" }],
          // Memory registration for GPUDirect RDMA pins pages.
          capabilities: { adds: ["IPC_LOCK"] },
        }
      : {}),
    ulimits: [
      { name: "memlock", soft: -1, hard: -1 },
      { name: "stack", soft: 67_108_864, hard: 67_108_864 },
    ],
    restart: "unless-stopped",
    privileged: false,
    labels: [
      { label: "gonka.ai/model", value: preset.id },
      { label: "gonka.ai/role", value: serves ? "leader" : "worker" },
    ],
    ...(serves
      ? {
          healthcheck: {
            tests: healthCheckCommand(preset, node.port, httpHost ?? "127.0.0.1"),
            interval: "30s",
            timeout: "5s",
            retries: 5,
            startPeriod: `${STARTUP_BUDGET_SECONDS}s`,
          },
        }
      : {}),
  };
}
