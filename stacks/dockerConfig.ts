/**
 * Docker-target checks `parseStackConfig` runs: hosts exist and are unique, each model has its
 * hosts of the right GPU type, engines are reachable on a private address, RAM fits offload.
 */
import type { DockerHost, ResolvedModel } from "./config.ts";
import { engineResources } from "./specs/engine.ts";

export function dockerProblems(
  docker: { readonly hosts: readonly DockerHost[]; readonly gatewayHost?: string | undefined },
  models: readonly ResolvedModel[],
): string[] {
  if (docker.hosts.length === 0)
    return ["target docker needs gonka:docker.hosts (at least one GPU host reachable over SSH)"];
  const problems: string[] = [];
  const byName = new Map(docker.hosts.map((h) => [h.name, h]));
  if (byName.size !== docker.hosts.length) problems.push("gonka:docker.hosts: host names must be unique");
  if (docker.gatewayHost && !byName.has(docker.gatewayHost))
    problems.push(`gonka:docker.gatewayHost "${docker.gatewayHost}" is not in gonka:docker.hosts`);
  const gatewayHost = docker.gatewayHost ?? docker.hosts[0]?.name;
  for (const m of models) {
    const need = m.replicas * m.layout.nodes;
    const where = `model ${m.preset.id}`;
    if (m.hosts.length !== need) {
      problems.push(
        `${where}: docker target needs hosts for ${m.replicas} replica(s) × ${m.layout.nodes} node(s) = ${need}, got ${m.hosts.length}`,
      );
      continue;
    }
    for (const name of m.hosts) {
      const host = byName.get(name);
      if (!host) problems.push(`${where}: host "${name}" is not in gonka:docker.hosts`);
      else if (host.gpuType !== m.layout.gpuType)
        problems.push(
          `${where}: layout ${m.layout.id} needs ${m.layout.gpuType}, host ${name} has ${host.gpuType}`,
        );
      // Engines listen on the private network only: the gateway's host reaches them on loopback,
      // every other caller (other gateways, multi-node peers) needs the host's private address.
      else if (!host.privateAddress && (name !== gatewayHost || m.layout.nodes > 1))
        problems.push(
          `${where}: host ${name} needs privateAddress (engines and ${m.layout.nodes > 1 ? "multi-node rendezvous" : "the gateway on another host"} use the private network only)`,
        );
      else if (m.layout.offloadExperts && host.ramGiB !== undefined) {
        const need = engineResources(m.preset, m.layout).memoryGiB;
        if (host.ramGiB < need)
          problems.push(
            `${where}: needs ${need} GiB host RAM (offloaded experts included), ${name} has ${host.ramGiB}`,
          );
      }
    }
  }
  return problems;
}
