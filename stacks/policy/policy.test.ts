import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "./policies.ts";

const digest = `sha256:${"c".repeat(64)}`;

/** A model server that breaks every rule once. */
const badModelServer = {
  type: "kubernetes:apps/v1:Deployment",
  name: "bad-model",
  props: {
    spec: {
      template: {
        metadata: { labels: { "gonka.ai/model": "kimi-k2.5" } },
        spec: {
          containers: [
            {
              name: "engine",
              image: "vllm/vllm-openai:latest",
              env: [{ name: "HF_TOKEN", value: "hf_plaintext" }],
              resources: { limits: { memory: "64Gi" } },
              securityContext: { privileged: true },
            },
          ],
        },
      },
    },
  },
};

const goodModelServer = {
  type: "kubernetes:apps/v1:Deployment",
  name: "good-model",
  props: {
    spec: {
      template: {
        metadata: { labels: { "gonka.ai/model": "kimi-k2.5" } },
        spec: {
          containers: [
            {
              name: "engine",
              image: `registry/gonka-vllm@${digest}`,
              env: [{ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } }],
              resources: { requests: { cpu: "32", memory: "256Gi" }, limits: { "nvidia.com/gpu": "8" } },
              securityContext: { privileged: false, allowPrivilegeEscalation: false },
            },
          ],
        },
      },
    },
  },
};

describe("policy pack", () => {
  it("passes a well-formed model server", () => {
    expect(evaluatePolicies([goodModelServer])).toEqual([]);
  });

  it("fails the bad fixture on every rule", () => {
    const violated = new Set(evaluatePolicies([badModelServer]).map((v) => v.policy));
    expect([...violated].sort()).toEqual([
      "gpu-limits-on-model-servers",
      "images-pinned",
      "no-privileged-containers",
      "resource-requests-everywhere",
      "secrets-only-via-secrets",
    ]);
  });

  it("checks Docker containers, pulled images, build bases and ConfigMaps too", () => {
    const violations = evaluatePolicies([
      {
        type: "docker:index/container:Container",
        name: "gpu-box",
        props: {
          image: "vllm/vllm-openai:v0.20.2",
          privileged: true,
          labels: [{ label: "gonka.ai/model", value: "qwen3-32b" }],
        },
      },
      { type: "docker:index/remoteImage:RemoteImage", name: "pull", props: { name: "redis:7" } },
      {
        type: "docker-build:index:Image",
        name: "vllm",
        props: {
          labels: { "ai.gonka.require-pinned-bases": "true" },
          buildArgs: { VLLM_BASE: "vllm/vllm-openai:v0.20.2" },
        },
      },
      { type: "kubernetes:core/v1:ConfigMap", name: "cm", props: { data: { GONKA_ADMIN_KEY: "x" } } },
    ]).map((v) => v.message);
    expect(violations).toEqual(
      expect.arrayContaining([
        "gpu-box: docker container is privileged",
        "gpu-box: model server container has no GPU device request",
        "gpu-box: docker container image vllm/vllm-openai:v0.20.2 is not digest-pinned",
        "pull: pulled image redis:7 is not digest-pinned",
        "vllm: build arg VLLM_BASE=vllm/vllm-openai:v0.20.2 is not digest-pinned",
        "cm: ConfigMap key GONKA_ADMIN_KEY looks like a secret",
      ]),
    );
  });
});
