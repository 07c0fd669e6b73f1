import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EndpointSlice, replicasFromSlices, type SliceEndpoint } from "./endpointSlices.ts";

/** An endpoint as the EndpointSlice controller writes it for a pod. */
const pod = (name: string, address: string, conditions: SliceEndpoint["conditions"] = {}): SliceEndpoint => ({
  addresses: [address],
  conditions: { ready: true, serving: true, terminating: false, ...conditions },
  targetRef: { kind: "Pod", name, namespace: "models", uid: `uid-${name}` },
  nodeName: "gpu-node-1",
});

const slice = (
  name: string,
  endpoints: SliceEndpoint[],
  addressType: EndpointSlice["addressType"] = "IPv4",
  ports: EndpointSlice["ports"] = [{ name: "http", port: 8000, protocol: "TCP" }],
): EndpointSlice => ({
  metadata: { name, namespace: "models", labels: { "kubernetes.io/service-name": "kimi" } },
  addressType,
  endpoints,
  ports,
});

describe("replicasFromSlices", () => {
  it("makes one replica per ready pod, named after the pod, at the engine port", () => {
    const replicas = replicasFromSlices([
      slice("kimi-abc", [pod("kimi-0", "10.0.0.5"), pod("kimi-1", "10.0.0.6")]),
    ]);
    expect(replicas).toEqual([
      { id: "kimi-0", url: "http://10.0.0.5:8000", ready: true, terminating: false },
      { id: "kimi-1", url: "http://10.0.0.6:8000", ready: true, terminating: false },
    ]);
  });

  it("picks the named port, else the first; leaves out slices without a usable port", () => {
    const ports = [
      { name: "metrics", port: 9400 },
      { name: "http", port: 8000 },
    ];
    const s = slice("a", [pod("p", "10.0.0.1")], "IPv4", ports);
    expect(replicasFromSlices([s])[0]!.url).toBe("http://10.0.0.1:9400");
    expect(replicasFromSlices([s], { portName: "http" })[0]!.url).toBe("http://10.0.0.1:8000");
    expect(replicasFromSlices([s], { portName: "grpc" })).toEqual([]);
    // A Service without ports, or a port without a number (the API's "all ports"), says nothing usable.
    expect(replicasFromSlices([slice("b", [pod("p", "10.0.0.1")], "IPv4", [])])).toEqual([]);
    expect(replicasFromSlices([slice("c", [pod("p", "10.0.0.1")], "IPv4", null)])).toEqual([]);
    expect(replicasFromSlices([slice("d", [pod("p", "10.0.0.1")], "IPv4", [{ port: null }])])).toEqual([]);
  });

  it("reads unset conditions as the API defines them: ready unless it says otherwise", () => {
    const bare: SliceEndpoint = { addresses: ["10.0.0.9"] };
    expect(replicasFromSlices([slice("a", [bare])])).toEqual([
      { id: "10.0.0.9:8000", url: "http://10.0.0.9:8000", ready: true, terminating: false },
    ]);
    const notReady = pod("p", "10.0.0.2", { ready: false, serving: false });
    expect(replicasFromSlices([slice("a", [notReady])])[0]).toMatchObject({
      ready: false,
      terminating: false,
    });
  });

  it("marks a terminating pod not ready even while it still serves (it drains)", () => {
    const leaving = pod("kimi-0", "10.0.0.5", { ready: false, serving: true, terminating: true });
    expect(replicasFromSlices([slice("a", [leaving])])[0]).toMatchObject({
      id: "kimi-0",
      ready: false,
      terminating: true,
    });
  });

  it("makes a dual-stack pod one replica, on its IPv4 address", () => {
    const replicas = replicasFromSlices([
      slice("kimi-v6", [pod("kimi-0", "fd00::5")], "IPv6"),
      slice("kimi-v4", [pod("kimi-0", "10.0.0.5")], "IPv4"),
    ]);
    expect(replicas).toEqual([
      { id: "kimi-0", url: "http://10.0.0.5:8000", ready: true, terminating: false },
    ]);
  });

  it("brackets IPv6 addresses in URLs", () => {
    expect(replicasFromSlices([slice("v6", [pod("kimi-0", "fd00::5")], "IPv6")])[0]!.url).toBe(
      "http://[fd00::5]:8000",
    );
  });

  it("treats a LeaderWorkerSet group as its leader pod: the id survives the leader's restart on a new IP", () => {
    const before = replicasFromSlices([slice("a", [pod("kimi-lws-0", "10.0.1.1")])]);
    const after = replicasFromSlices([slice("a", [pod("kimi-lws-0", "10.0.1.7")])]);
    expect(after[0]!.id).toBe(before[0]!.id);
    expect(after[0]!.url).not.toBe(before[0]!.url);
  });

  // Properties over arbitrary slice sets: how the controller splits endpoints into slices,
  // and in which order the API lists them, must not change the replica set.
  const podArb = fc.record({
    name: fc.constantFrom("p0", "p1", "p2", "p3", "p4"),
    v4: fc.ipV4(),
    v6: fc.ipV6(),
    ready: fc.option(fc.boolean(), { nil: undefined }),
    terminating: fc.option(fc.boolean(), { nil: undefined }),
  });

  it("never lists a pod twice, whatever the duplication across slices and families", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(podArb, fc.boolean(), fc.nat(3)), { maxLength: 20 }),
        fc.boolean(),
        (placed, reverse) => {
          // Each endpoint lands in one of 4 IPv4 slices or 4 IPv6 slices.
          const slices = Array.from({ length: 8 }, (_, i) =>
            slice(`s${i}`, [], i < 4 ? "IPv4" : "IPv6", [{ name: "http", port: 8000 }]),
          );
          for (const [p, v6, at] of placed) {
            const conditions = { ready: p.ready ?? null, terminating: p.terminating ?? null };
            slices[v6 ? 4 + at : at]!.endpoints!.push({
              ...pod(p.name, v6 ? p.v6 : p.v4),
              conditions,
            });
          }
          const replicas = replicasFromSlices(reverse ? slices.reverse() : slices);
          const ids = replicas.map((r) => r.id);
          expect(new Set(ids).size).toBe(ids.length);
          expect(ids).toEqual([...new Set(placed.map(([p]) => p.name))].sort());
          for (const r of replicas) {
            expect(r.ready && r.terminating).toBe(false);
            const copies = placed.filter(([p]) => p.name === r.id).map(([p]) => p);
            expect(r.terminating).toBe(copies.some((c) => c.terminating === true));
          }
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  it("gives the same answer whatever the order of slices and of endpoints within them", () => {
    fc.assert(
      fc.property(fc.uniqueArray(podArb, { selector: (p) => p.name, maxLength: 5 }), fc.nat(), (pods, n) => {
        const endpoints = pods.map((p) =>
          pod(p.name, p.v4, { ready: p.ready ?? null, terminating: p.terminating ?? null }),
        );
        const split = endpoints.length ? n % (endpoints.length + 1) : 0;
        const one = [slice("a", endpoints.slice(0, split)), slice("b", endpoints.slice(split))];
        const other = [slice("b", endpoints.slice(split).reverse()), slice("a", endpoints.slice(0, split))];
        expect(replicasFromSlices(other)).toEqual(replicasFromSlices(one));
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
