import { describe, expect, it } from "vitest";
import { expertOffloadPlan, getLayout, getPreset } from "../../catalog/index.ts";
import { devicePluginValues } from "../components/gpuCluster.ts";
import { hostCheckScript } from "../components/gpuHost.ts";
import { dockerEngineSpec } from "./dockerModelServer.ts";
import { enginePodSpec, leaderWorkerSetSpec, modelServiceSpec } from "./k8sModelServer.ts";
import { dcgmDaemonSetSpec } from "./observability.ts";
import { placeOnDockerHosts } from "./placement.ts";
import { stagingScript } from "./weightStaging.ts";

const kimi = getPreset("kimi-k2.5");
const h100x8x2 = getLayout(kimi, "h100x8x2");

describe("placeOnDockerHosts", () => {
  it("hands out distinct GPUs and ports per host, leader first", () => {
    const hosts = [
      { name: "a", address: "1.1.1.1", privateAddress: "10.0.0.1", gpus: 8 },
      { name: "b", address: "1.1.1.2", gpus: 8 },
    ];
    const qwen = getPreset("qwen3-32b");
    const placed = placeOnDockerHosts(
      [
        { preset: qwen, layout: getLayout(qwen, "h100x2"), replicas: 2, hosts: ["a", "a"] },
        {
          preset: getPreset("embeddings"),
          layout: getLayout(getPreset("embeddings"), "h100x1"),
          replicas: 1,
          hosts: ["b"],
        },
      ],
      hosts,
    );
    expect(placed[0]?.replicas.map((r) => r[0]?.deviceIds)).toEqual([
      ["0", "1"],
      ["2", "3"],
    ]);
    expect(placed[0]?.replicas.map((r) => r[0]?.port)).toEqual([8000, 8001]);
    expect(placed[1]?.replicas[0]?.[0]).toMatchObject({
      host: "b",
      deviceIds: ["0"],
      port: 8000,
      rendezvousAddress: "1.1.1.2",
    });
  });
});

describe("leaderWorkerSetSpec", () => {
  const input = {
    preset: kimi,
    layout: h100x8x2,
    replicas: 1,
    image: `r/vllm@sha256:${"d".repeat(64)}`,
    namespace: "gonka",
    weightsClaim: "weights-kimi",
    nodeSelector: { "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3" },
    tolerations: [],
    engineKeySecret: "gonka-engine",
  };

  it("groups one leader and one headless worker that rendezvous through LWS's leader address", () => {
    const spec = leaderWorkerSetSpec(input);
    const t = spec.spec.leaderWorkerTemplate;
    expect(t.size).toBe(2);
    const leader = t.leaderTemplate.spec.containers[0]!;
    const worker = t.workerTemplate.spec.containers[0]!;
    expect(leader.args).toContain("$(LWS_LEADER_ADDRESS)");
    expect(worker.args).toContain("--headless");
    expect(leader.args).not.toContain("--headless");
    expect("startupProbe" in worker).toBe(false);
    expect(leader.startupProbe?.failureThreshold).toBe(240);
  });

  it("is deterministic", () => {
    expect(JSON.stringify(leaderWorkerSetSpec(input))).toBe(JSON.stringify(leaderWorkerSetSpec(input)));
  });
});

describe("stagingScript", () => {
  it("downloads the GGUF pattern, checks all shards, and marks the folder", () => {
    const s = stagingScript(getPreset("kimi-k2.5-q2"), "/models");
    expect(s).toContain("hf download 'unsloth/Kimi-K2.5-GGUF' --include 'UD-Q2_K_XL/*'");
    expect(s).toContain("seq -f '%05g' 1 8");
    expect(s).toContain(".gonka-staged");
    expect(s).not.toMatch(/hf_|HF_TOKEN=/);
  });

  it("verifies safetensors shards against the checkpoint index", () => {
    expect(stagingScript(kimi, "/models")).toContain("model.safetensors.index.json");
  });
});

describe("issue 19 specs", () => {
  const base = {
    replicas: 1,
    image: "img",
    namespace: "gonka",
    weightsClaim: "w",
    nodeSelector: {},
    tolerations: [],
    engineKeySecret: "gonka-engine",
  };

  it("names the model Service apart from its LeaderWorkerSet", () => {
    const input = { ...base, preset: kimi, layout: h100x8x2 };
    expect(modelServiceSpec(input).metadata.name).not.toBe(leaderWorkerSetSpec(input).metadata.name);
  });

  it("requests host RAM for the offloaded experts, not the 416 GiB of the --cpu-moe layout", () => {
    const q2 = getPreset("kimi-k2.5-q2");
    const c = enginePodSpec({ ...base, preset: q2, layout: getLayout(q2, "h100x4-offload") }, "single")
      .containers[0]!;
    const gib = Number.parseInt(c.resources.requests.memory, 10);
    expect(gib).toBeLessThan(416);
    // 32 GiB per GPU for the process and loaders + the offloaded experts + /dev/shm.
    expect(gib).toBe(4 * 32 + expertOffloadPlan(q2, getLayout(q2, "h100x4-offload")).hostRamGiB + 32);
  });

  it("gives multi-node replicas led from one Docker host distinct rendezvous ports", () => {
    const hosts = [
      { name: "a", address: "1.1.1.1", privateAddress: "10.0.0.1", gpus: 16 },
      { name: "b", address: "1.1.1.2", privateAddress: "10.0.0.2", gpus: 16 },
    ];
    const placed = placeOnDockerHosts(
      [{ preset: kimi, layout: h100x8x2, replicas: 2, hosts: ["a", "b", "a", "b"] }],
      hosts,
    );
    const ports = placed[0]!.replicas.map((r) => r.map((n) => n.masterPort));
    expect(ports).toEqual([
      [29501, 29501],
      [29502, 29502],
    ]);
    expect(placed[0]!.replicas[0]![0]!.rendezvousAddress).toBe("10.0.0.1");
  });

  it("device-plugin mode turns on GFD and NFD; dcgm-exporter selects the configured GPU labels", () => {
    expect(devicePluginValues([])).toMatchObject({ gfd: { enabled: true }, nfd: { enabled: true } });
    const ds = dcgmDaemonSetSpec({
      namespace: "gonka",
      gpuNodeSelectorTerms: [
        { "nvidia.com/gpu.product": "NVIDIA-H200" },
        { "nvidia.com/gpu.product": "NVIDIA-L4" },
      ],
      tolerations: [],
    });
    const terms =
      ds.spec.template.spec.affinity?.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms;
    expect(terms).toEqual([
      { matchExpressions: [{ key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-H200"] }] },
      { matchExpressions: [{ key: "nvidia.com/gpu.product", operator: "In", values: ["NVIDIA-L4"] }] },
    ]);
    expect(JSON.stringify(ds)).not.toContain("gpu.present");
  });

  it("accepts GPU hosts whose toolkit is set up through CDI only", () => {
    const script = hostCheckScript({
      name: "a",
      address: "a",
      user: "u",
      sshPort: 22,
      gpuType: "H100",
      gpus: 8,
      weightsDir: "/srv",
    });
    expect(script).toContain("nvidia-ctk cdi list");
    expect(script).toMatch(/grep -q nvidia \|\| nvidia-ctk cdi list/);
  });

  it("keeps multi-node groups on TCP when the fabric has no RDMA", () => {
    const tcp = leaderWorkerSetSpec({ ...base, preset: kimi, layout: h100x8x2 });
    const c = tcp.spec.leaderWorkerTemplate.workerTemplate.spec.containers[0]!;
    expect(Object.keys(c.resources.limits).some((k) => k.startsWith("rdma/"))).toBe(false);
    expect("capabilities" in c.securityContext).toBe(false);
    expect(tcp.metadata.annotations).toBeUndefined();
    const node = {
      host: "a",
      address: "1.1.1.1",
      rendezvousAddress: "10.0.0.1",
      deviceIds: ["0"],
      port: 8000,
      nodeRank: 1,
      masterPort: 29501,
    };
    const d = dockerEngineSpec({
      preset: kimi,
      layout: h100x8x2,
      replica: 0,
      node,
      leader: { ...node, nodeRank: 0 },
      hostWeightsDir: "/srv",
      bindAddress: "10.0.0.1",
      fabric: { rdma: false, ibHca: "mlx5", socketIfname: "bond0" },
    });
    expect("devices" in d).toBe(false);
    expect(d.envs).toEqual(expect.arrayContaining(["VLLM_HOST_IP=10.0.0.1", "NCCL_SOCKET_IFNAME=bond0"]));
  });
});
