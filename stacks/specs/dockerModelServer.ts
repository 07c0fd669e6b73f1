/**
 * Docker specs for one engine process on a GPU host: GPUs by device request,
 * host IPC and a sized /dev/shm (NCCL needs both), weights bind-mounted read-only.
 * Multi-node replicas use host networking so torch.distributed/NCCL can reach peers.
 */

import type { Layout, ModelPreset } from "../../catalog/index.ts";
import {
  engineCommand,
  engineEnv,
  HEALTH_PATH,
  STARTUP_BUDGET_SECONDS,
  shmGiB,
  WEIGHTS_MOUNT,
} from "./engine.ts";
import type { EngineNode } from "./placement.ts";

export interface DockerEngineInput {
  readonly preset: ModelPreset;
  readonly layout: Layout;
  readonly maxModelLen?: number;
  readonly replica: number;
  readonly node: EngineNode;
  /** The leader node of this replica (rank 0); its rendezvous address is `--master-addr`. */
  readonly leader: EngineNode;
  readonly hostWeightsDir: string;
}

/** Health check command that works in each engine image (vLLM's has python, llama.cpp's has curl). */
export function healthCheckCommand(preset: ModelPreset, port: number): string[] {
  const url = `http://127.0.0.1:${port}${HEALTH_PATH}`;
  return preset.engine === "vllm"
    ? ["CMD", "python3", "-c", `import urllib.request; urllib.request.urlopen("${url}", timeout=5)`]
    : ["CMD", "curl", "-fsS", url];
}

export function dockerEngineSpec(input: DockerEngineInput) {
  const { preset, layout, node } = input;
  const multi = layout.nodes > 1;
  const command = engineCommand({
    preset,
    layout,
    port: node.port,
    ...(input.maxModelLen ? { maxModelLen: input.maxModelLen } : {}),
    ...(multi ? { nodeRank: node.nodeRank, leaderAddress: input.leader.rendezvousAddress } : {}),
  });
  const serves = node.nodeRank === 0;
  return {
    name: `gonka-${preset.id}-r${input.replica}-n${node.nodeRank}`,
    command,
    envs: Object.entries(engineEnv(preset)).map(([k, v]) => `${k}=${v}`),
    deviceRequests: [{ driver: "nvidia", deviceIds: [...node.deviceIds], capabilities: ["gpu"] }],
    ipcMode: "host",
    shmSize: shmGiB(layout) * 1024,
    networkMode: multi ? "host" : "bridge",
    ports: multi ? [] : [{ internal: node.port, external: node.port }],
    volumes: [
      {
        hostPath: `${input.hostWeightsDir}/${preset.weights.repo}`,
        containerPath: `${WEIGHTS_MOUNT}/${preset.weights.repo}`,
        readOnly: true,
      },
    ],
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
            tests: healthCheckCommand(preset, node.port),
            interval: "30s",
            timeout: "5s",
            retries: 5,
            startPeriod: `${STARTUP_BUDGET_SECONDS}s`,
          },
        }
      : {}),
  };
}
