import { describe, expect, it } from "vitest";
import { getPreset } from "../catalog/index.ts";
import { memoryProblems, parseStackConfig } from "./config.ts";
import { type ENVIRONMENTS, projectConfig, readStackFile } from "./testing/stackFiles.ts";

const digests = { vllm: `sha256:${"a".repeat(64)}`, llamacpp: `sha256:${"b".repeat(64)}` };

function envConfig(env: (typeof ENVIRONMENTS)[number]): Record<string, unknown> {
  return projectConfig(readStackFile(env).values);
}

function k8s(models: unknown[]): Record<string, unknown> {
  return { target: "kubernetes", models, images: { registry: "r.example/gonka", build: true } };
}

describe("stack files", () => {
  it("dev and staging parse as committed", () => {
    expect(parseStackConfig(envConfig("dev")).target).toBe("docker");
    const staging = parseStackConfig(envConfig("staging"));
    expect(staging.models.map((m) => m.preset.id)).toEqual([
      "kimi-k2.5",
      "kimi-k2.5-q2",
      "qwen3-embedding-0.6b",
    ]);
  });

  it("prod refuses to build engines from bare tags until the base digests are set", () => {
    const committed = envConfig("prod");
    const prod = { ...committed, images: { ...(committed["images"] as object), refs: {}, build: true } };
    expect(() => parseStackConfig(prod)).toThrow(/gonka:images\.baseDigests\.vllm is required/);
    const images = { ...(prod["images"] as object), baseDigests: digests };
    const parsed = parseStackConfig({ ...prod, images });
    const kimi = parsed.models.find((m) => m.preset.id === "kimi-k2.5");
    expect(kimi?.layout).toMatchObject({ nodes: 2, tensorParallel: 8, pipelineParallel: 2, gpuType: "H100" });
  });
});

describe("images: promoted refs by default, building only on request", () => {
  const models = [{ preset: "kimi-k2.5" }, { preset: "kimi-k2.5-q2" }];
  it("without build, every image the stack runs needs a ref", () => {
    const cfg = { target: "kubernetes", models, images: { registry: "r", refs: { vllm: "r/v:1@x" } } };
    const error = (() => {
      try {
        parseStackConfig(cfg);
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })();
    expect(error).toMatch(/gonka:images\.refs\.gateway is required/);
    expect(error).toMatch(/gonka:images\.refs\.llamacpp is required/);
    expect(error).not.toMatch(/refs\.vllm/);
    expect(error).toMatch(/gonka:images\.build: true/);
  });
  it("prod's committed file needs no base digests once CI's refs are set", () => {
    const prod = parseStackConfig(envConfig("prod"));
    expect(prod.images.build).toBe(false);
    expect(Object.keys(prod.images.refs).sort()).toEqual(["gateway", "llamacpp", "vllm"]);
  });
});

describe("invalid configs fail with a message that names the problem", () => {
  it("unknown preset", () => {
    expect(() => parseStackConfig(k8s([{ preset: "kimi-k3" }]))).toThrow(
      /gonka:models\[0\]: unknown model preset "kimi-k3"; known presets: kimi-k2\.5/,
    );
  });

  it("unknown layout", () => {
    expect(() => parseStackConfig(k8s([{ preset: "kimi-k2.5", layout: "a100x4" }]))).toThrow(
      /no layout "a100x4"/,
    );
  });

  it("tensor parallelism that does not divide the GPUs", () => {
    const layout = { id: "h200x8-tp3", gpuType: "H200", gpusPerNode: 8, tensorParallel: 3 };
    expect(() => parseStackConfig(k8s([{ preset: "kimi-k2.5", layout }]))).toThrow(
      /tensorParallel 3 does not divide the 8 GPUs/,
    );
  });

  it("2-bit preset on GPUs without enough memory", () => {
    const layout = { id: "l40sx4", gpuType: "L40S" as const, gpusPerNode: 4, tensorParallel: 4 };
    expect(() => parseStackConfig(k8s([{ preset: "kimi-k2.5-q2", layout }]))).toThrow(
      /kimi-k2\.5-q2\/l40sx4: weights need 350 GiB but 1×4×L40S hold 172 GiB usable/,
    );
    // The same GPUs are enough once the experts that do not fit live in host RAM.
    expect(
      memoryProblems(getPreset("kimi-k2.5-q2"), {
        ...layout,
        nodes: 1,
        pipelineParallel: 1,
        offloadExperts: true,
      }),
    ).toEqual([]);
  });

  it("docker target without hosts", () => {
    expect(() =>
      parseStackConfig({
        target: "docker",
        models: [{ preset: "qwen3-32b" }],
        images: { registry: "r", build: true },
      }),
    ).toThrow(/target docker needs gonka:docker\.hosts/);
  });

  it("docker host of the wrong GPU type, too few hosts, or too many GPUs on one host", () => {
    const hosts = [{ name: "a", address: "10.0.0.1", gpuType: "H100", gpus: 2 }];
    const base = {
      target: "docker",
      images: { registry: "r", build: true },
      docker: { hosts },
      database: { kind: "sqlite" },
    };
    expect(() =>
      parseStackConfig({ ...base, models: [{ preset: "qwen3-32b", layout: "h200x1", hosts: ["a"] }] }),
    ).toThrow(/layout h200x1 needs H200, host a has H100/);
    expect(() =>
      parseStackConfig({ ...base, models: [{ preset: "kimi-k2.5", layout: "h100x8x2", hosts: ["a"] }] }),
    ).toThrow(/1 replica\(s\) × 2 node\(s\) = 2, got 1/);
    expect(() =>
      parseStackConfig({
        ...base,
        models: [
          { preset: "qwen3-32b", layout: "h100x2", hosts: ["a"] },
          { preset: "embeddings", layout: "h100x1", hosts: ["a"] },
        ],
      }),
    ).toThrow(/host a has 2 GPUs but the models placed on it need 3/);
  });

  it("schema errors name the key", () => {
    expect(() =>
      parseStackConfig({ target: "swarm", models: [], images: { registry: "r", build: true } }),
    ).toThrow(/gonka:target: .*\n.*gonka:models: list at least one model/);
  });

  it("more than one gateway replica on SQLite (keys would live in per-replica files)", () => {
    const sqlite = { ...k8s([{ preset: "qwen" }]), database: { kind: "sqlite" } };
    expect(() => parseStackConfig({ ...sqlite, gateway: { replicas: 3 } })).toThrow(
      /gonka:gateway\.replicas is 3, but gonka:database\.kind is sqlite: .*keys issued by one would not work on another/,
    );
    expect(() => parseStackConfig({ ...sqlite, gateway: { replicas: 1 } })).not.toThrow();
    // On Postgres (CloudNativePG by default on Kubernetes) the same replicas are accepted.
    expect(
      parseStackConfig({ ...k8s([{ preset: "qwen" }]), gateway: { replicas: 3 } }).gateway.replicas,
    ).toBe(3);
  });

  it("the same model twice", () => {
    expect(() => parseStackConfig(k8s([{ preset: "kimi" }, { preset: "kimi-k2.5" }]))).toThrow(
      /kimi-k2\.5 is listed twice/,
    );
  });

  it("engine hosts without a private address, when the gateway or a peer must reach them", () => {
    const hosts = [
      { name: "gw", address: "203.0.113.1", gpuType: "H100", gpus: 8 },
      { name: "b", address: "203.0.113.2", gpuType: "H100", gpus: 8 },
    ];
    const base = {
      target: "docker",
      images: { registry: "r", build: true },
      docker: { hosts, gatewayHost: "gw" },
      database: { kind: "sqlite" },
    };
    // Single-node engines on the gateway's own host answer on loopback: fine.
    expect(() =>
      parseStackConfig({ ...base, models: [{ preset: "qwen3-32b", layout: "h100x2", hosts: ["gw"] }] }),
    ).not.toThrow();
    expect(() =>
      parseStackConfig({ ...base, models: [{ preset: "qwen3-32b", layout: "h100x2", hosts: ["b"] }] }),
    ).toThrow(/host b needs privateAddress/);
    expect(() =>
      parseStackConfig({
        ...base,
        models: [{ preset: "kimi-k2.5", layout: "h100x8x2", hosts: ["gw", "b"] }],
      }),
    ).toThrow(/host gw needs privateAddress \(engines and multi-node rendezvous/);
  });

  it("a Docker host with less RAM than the offload plan and its process need", () => {
    const hosts = [{ name: "a", address: "10.0.0.1", gpuType: "H100", gpus: 4, ramGiB: 200 }];
    const base = {
      target: "docker",
      images: { registry: "r", build: true },
      docker: { hosts },
      database: { kind: "sqlite" },
    };
    const models = [{ preset: "kimi-k2.5-q2", layout: "h100x4-offload", hosts: ["a"] }];
    expect(() => parseStackConfig({ ...base, models })).toThrow(
      /needs 259 GiB host RAM \(offloaded experts included\), a has 200/,
    );
    const roomy = [{ ...hosts[0], ramGiB: 512 }];
    expect(() => parseStackConfig({ ...base, docker: { hosts: roomy }, models })).not.toThrow();
  });
});

describe("gateway routers (tiering)", () => {
  const models = [{ preset: "kimi-k2.5" }, { preset: "kimi-k2.5-q2", extraAliases: ["kimi-cheap"] }];
  const withRouters = (routers: unknown[]) => ({ ...k8s(models), gateway: { routers } });
  it("accepts rules over the models this stack deploys, by id or alias", () => {
    const cfg = parseStackConfig(
      withRouters([
        {
          alias: "auto",
          rules: [{ name: "short", when: { promptTokensAtMost: 500 }, model: "kimi-cheap" }],
          default: { model: "kimi-k2.5" },
        },
      ]),
    );
    expect(cfg.gateway.routers?.[0]?.rules[0]?.model).toBe("kimi-cheap");
  });

  it("refuses a rule naming a model the stack does not deploy, with the gateway's message", () => {
    expect(() =>
      parseStackConfig(
        withRouters([
          {
            alias: "auto",
            rules: [{ name: "cheap", when: { tools: false }, model: "qwen3-32b" }],
            default: { model: "kimi-k2.5" },
          },
        ]),
      ),
    ).toThrow(
      /gonka:gateway\.routers\.0\.rules\.0\.model: router "auto" rule "cheap": unknown model "qwen3-32b"/,
    );
  });
});
