/**
 * The parts of a `discovery.k8s.io/v1` EndpointSlice the gateway reads, as the API server
 * sends them (JSON). Optional fields are optional on the wire too.
 */
export interface EndpointSlice {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  addressType: "IPv4" | "IPv6" | "FQDN";
  endpoints?: SliceEndpoint[] | null;
  ports?: SlicePort[] | null;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
  targetRef?: { kind?: string; name?: string; namespace?: string; uid?: string };
  nodeName?: string;
}

export interface SlicePort {
  name?: string | null;
  port?: number | null;
  protocol?: string | null;
}

/** One engine pod as the gateway routes to it. */
export interface DiscoveredReplica {
  /** The pod's name (stable for a LeaderWorkerSet leader), else `address:port`. */
  readonly id: string;
  readonly url: string;
  /** Ready and not terminating: may take new requests. */
  readonly ready: boolean;
  /** Shutting down: takes no new requests; those in flight finish. */
  readonly terminating: boolean;
}

const FAMILY_ORDER: Record<EndpointSlice["addressType"], number> = { IPv4: 0, IPv6: 1, FQDN: 2 };

/**
 * The replica set a Service's EndpointSlices describe: one replica per pod (a
 * LeaderWorkerSet group is its leader pod, the one a headless Service selecting leaders
 * lists), at the engine port (`portName`, else each slice's first port).
 *
 * - An endpoint can sit in two slices at once while the controller moves it, and a
 *   dual-stack pod sits in an IPv4 and an IPv6 slice: both are one replica, so a pod never
 *   gets double weight. Its address is the IPv4 one when it has both (then the smallest).
 * - `ready` unset means ready (the API's rule); a pod is terminating if any copy says so,
 *   and a terminating pod is never ready, whatever a stale copy says.
 * - Endpoints without a usable port or address are left out.
 * Sorted by id, so equal inputs give equal outputs whatever the slice order. Pure.
 */
export function replicasFromSlices(
  slices: readonly EndpointSlice[],
  opts: { portName?: string | undefined } = {},
): DiscoveredReplica[] {
  const byId = new Map<
    string,
    { family: number; address: string; port: number; ready: boolean; terminating: boolean }
  >();
  for (const slice of slices) {
    const family = FAMILY_ORDER[slice.addressType];
    if (family === undefined) continue;
    const port = slicePort(slice.ports ?? [], opts.portName);
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const address = [...(endpoint.addresses ?? [])].sort()[0];
      if (!address) continue;
      const pod = endpoint.targetRef?.kind === "Pod" ? endpoint.targetRef.name : undefined;
      const id = pod ?? hostPort(address, port, slice.addressType);
      const terminating = endpoint.conditions?.terminating === true;
      const ready = endpoint.conditions?.ready !== false && !terminating;
      const seen = byId.get(id);
      if (!seen) {
        byId.set(id, { family, address, port, ready, terminating });
        continue;
      }
      seen.terminating ||= terminating;
      seen.ready = (seen.ready || ready) && !seen.terminating;
      if (family < seen.family || (family === seen.family && address < seen.address)) {
        Object.assign(seen, { family, address, port });
      }
    }
  }
  return [...byId.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, e]) => ({
      id,
      url: `http://${hostPort(e.address, e.port, e.family === 1 ? "IPv6" : "IPv4")}`,
      ready: e.ready,
      terminating: e.terminating,
    }));
}

function slicePort(ports: readonly SlicePort[], name: string | undefined): number | undefined {
  const chosen = name === undefined ? ports[0] : ports.find((p) => p.name === name);
  const port = chosen?.port;
  return typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65_536 ? port : undefined;
}

function hostPort(address: string, port: number, type: EndpointSlice["addressType"]): string {
  return type === "IPv6" ? `[${address}]:${port}` : `${address}:${port}`;
}
