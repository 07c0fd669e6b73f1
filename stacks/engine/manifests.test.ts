import { describe, expect, it } from "vitest";
import { type Manifest, manifestProblems } from "./manifests.ts";

/** A rendered engine pod template, as the provider writes it. */
function pod(gpus: number, args: string[], probes = true) {
  const probe = { httpGet: { path: "/health", port: 8000 } };
  return {
    spec: {
      containers: [
        {
          name: "engine",
          args,
          resources: { limits: { "nvidia.com/gpu": String(gpus) } },
          ...(probes ? { startupProbe: probe, readinessProbe: probe } : {}),
        },
      ],
    },
  };
}

const qwen = (gpus: number, probes = true): Manifest => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "qwen3-32b" },
  spec: { replicas: 1, template: pod(gpus, ["/models/Qwen", "--tensor-parallel-size", "2"], probes) },
});

const kimiArgs = ["--tensor-parallel-size", "8", "--nnodes", "2", "--trust-remote-code"];
const kimiLeader = [...kimiArgs, "--tool-call-parser", "kimi_k2", "--reasoning-parser", "kimi_k2"];
const kimi = (size: number): Manifest => ({
  apiVersion: "leaderworkerset.x-k8s.io/v1",
  kind: "LeaderWorkerSet",
  metadata: { name: "kimi-k2-5" },
  spec: {
    replicas: 1,
    leaderWorkerTemplate: {
      size,
      leaderTemplate: pod(8, kimiLeader),
      workerTemplate: pod(8, kimiArgs, false),
    },
  },
});

describe("checks on rendered manifests", () => {
  const models = [
    { preset: "qwen3-32b", layout: "h100x2" },
    { preset: "kimi-k2.5", layout: "h100x8x2" },
  ];

  it("accept a Deployment and a two-node LeaderWorkerSet as the catalog lays them out", () => {
    expect(manifestProblems([qwen(2), kimi(2)], models, ["s3cret"])).toEqual([]);
  });

  it("name wrong GPU limits, a wrong LWS size, missing probes and a secret in a ConfigMap", () => {
    const cm: Manifest = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "gw" },
      data: { x: "a s3cret" },
    };
    const problems = manifestProblems([qwen(1, false), kimi(3), cm], models, ["s3cret"]);
    expect(problems).toContain("qwen3-32b (h100x2): pod limits nvidia.com/gpu 1, not 2");
    expect(problems).toContain("qwen3-32b (h100x2): pod lacks startup and readiness probes on /health");
    expect(problems).toContain("kimi-k2.5 (h100x8x2): LWS size 3, not 2");
    expect(problems).toContain("ConfigMap gw holds a secret value");
  });

  it("name a model with no workload", () => {
    expect(manifestProblems([qwen(2)], models, [])).toContain(
      "kimi-k2.5 (h100x8x2): no Deployment or LeaderWorkerSet named kimi-k2-5",
    );
  });
});
