/**
 * Docker target: which host, which GPUs and which port each engine process gets.
 * Pure and deterministic: hosts hand out GPUs in config order, so a re-run of
 * `pulumi up` with the same config places everything on the same devices.
 */
import type { Layout, ModelPreset } from "../../catalog/index.ts";

/** The parts of a host placement needs (structurally a `DockerHost`). */
export interface PlacementHost {
  readonly name: string;
  readonly address: string;
  readonly privateAddress?: string;
  readonly gpus: number;
}

export interface PlacementModel {
  readonly preset: ModelPreset;
  readonly layout: Layout;
  readonly replicas: number;
  readonly hosts: readonly string[];
}

/** One engine process: one node of one replica. */
export interface EngineNode {
  readonly host: string;
  /** Address the gateway uses (published port) and, for rank 0, the rendezvous address. */
  readonly address: string;
  readonly rendezvousAddress: string;
  readonly deviceIds: readonly string[];
  readonly port: number;
  readonly nodeRank: number;
  /**
   * Multi-node only: torch.distributed rendezvous port on the replica's leader. Host networking
   * shares one port space per host, so two multi-node replicas led from one host get distinct ports.
   */
  readonly masterPort?: number;
}

export interface PlacedModel {
  readonly presetId: string;
  /** `replicas[r][n]` is node n of replica r; node 0 is the leader that serves HTTP. */
  readonly replicas: readonly (readonly EngineNode[])[];
}

/** First port handed out on each host; each engine process on a host gets the next one. */
export const FIRST_ENGINE_PORT = 8000;
/** vLLM's default `--master-port`; further multi-node replicas led from the same host count up. */
export const FIRST_MASTER_PORT = 29_501;

export function placeOnDockerHosts(
  models: readonly PlacementModel[],
  hosts: readonly PlacementHost[],
): PlacedModel[] {
  const nextGpu = new Map<string, number>();
  const nextPort = new Map<string, number>();
  const nextMasterPort = new Map<string, number>();
  const byName = new Map(hosts.map((h) => [h.name, h]));
  return models.map((m) => {
    const replicas: EngineNode[][] = [];
    for (let r = 0; r < m.replicas; r++) {
      const nodes: EngineNode[] = [];
      let masterPort: number | undefined;
      for (let n = 0; n < m.layout.nodes; n++) {
        const name = m.hosts[r * m.layout.nodes + n];
        const host = name ? byName.get(name) : undefined;
        if (!host) throw new Error(`model ${m.preset.id}: replica ${r} node ${n} has no host`);
        const first = nextGpu.get(host.name) ?? 0;
        const last = first + m.layout.gpusPerNode;
        if (last > host.gpus) {
          throw new Error(
            `host ${host.name} has ${host.gpus} GPUs but the models placed on it need ${last} ` +
              `(${m.preset.id} replica ${r} needs ${m.layout.gpusPerNode})`,
          );
        }
        nextGpu.set(host.name, last);
        const port = nextPort.get(host.name) ?? FIRST_ENGINE_PORT;
        nextPort.set(host.name, port + 1);
        if (m.layout.nodes > 1 && n === 0) {
          masterPort = nextMasterPort.get(host.name) ?? FIRST_MASTER_PORT;
          nextMasterPort.set(host.name, masterPort + 1);
        }
        nodes.push({
          host: host.name,
          address: host.address,
          rendezvousAddress: host.privateAddress ?? host.address,
          deviceIds: Array.from({ length: m.layout.gpusPerNode }, (_, i) => String(first + i)),
          port,
          nodeRank: n,
          ...(masterPort !== undefined ? { masterPort } : {}),
        });
      }
      replicas.push(nodes);
    }
    return { presetId: m.preset.id, replicas };
  });
}
