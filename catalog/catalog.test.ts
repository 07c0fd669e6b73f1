import { describe, expect, it } from "vitest";
import {
  buildEngineArgs,
  buildLlamaCppArgs,
  buildVllmArgs,
  expertOffloadPlan,
  getLayout,
  getPreset,
  kvCapacity,
  LLAMACPP_IMAGE,
  PRESETS,
  VLLM_CHAT_TEMPLATE_DIR,
  validateLayout,
} from "./index.ts";

const run = { weightsDir: "/models", port: 8000 };

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

describe("catalog", () => {
  it("has the presets the milestone asks for, with unique ids and aliases", () => {
    const ids = PRESETS.map((p) => p.id);
    expect(ids).toEqual(expect.arrayContaining(["kimi-k2.5", "kimi-k2.5-q2"]));
    expect(ids.some((id) => id.startsWith("deepseek"))).toBe(true);
    expect(ids.some((id) => id.startsWith("llama-4"))).toBe(true);
    expect(ids.some((id) => id.startsWith("qwen3-") && !id.includes("embedding"))).toBe(true);
    expect(PRESETS.some((p) => p.capabilities.includes("embeddings") && p.embeddingDimensions)).toBe(true);
    const names = PRESETS.flatMap((p) => [p.id, ...p.aliases]);
    expect(new Set(names).size).toBe(names.length);
  });

  it("every preset layout is internally consistent", () => {
    for (const p of PRESETS) for (const l of p.layouts) expect(() => validateLayout(p, l)).not.toThrow();
  });

  it("resolves aliases and names the known presets on a typo", () => {
    expect(getPreset("kimi").id).toBe("kimi-k2.5");
    expect(() => getPreset("kimi-k3")).toThrow(/unknown model preset "kimi-k3".*kimi-k2\.5/);
    expect(() => getLayout(getPreset("kimi-k2.5"), "a100x4")).toThrow(/no layout "a100x4".*h200x8/);
  });
});

describe("buildVllmArgs", () => {
  const kimi = getPreset("kimi-k2.5");

  it("serves K2.5 on one 8×H200 node with TP 8 and both kimi_k2 parsers", () => {
    const args = buildVllmArgs(kimi, getLayout(kimi, "h200x8"), run);
    expect(args[0]).toBe("/models/moonshotai/Kimi-K2.5");
    expect(flag(args, "--served-model-name")).toBe("kimi-k2.5");
    expect(flag(args, "--tensor-parallel-size")).toBe("8");
    expect(args).not.toContain("--pipeline-parallel-size");
    expect(flag(args, "--tool-call-parser")).toBe("kimi_k2");
    expect(flag(args, "--reasoning-parser")).toBe("kimi_k2");
    expect(args).toContain("--enable-auto-tool-choice");
    expect(args).toContain("--trust-remote-code");
    expect(flag(args, "--mm-encoder-tp-mode")).toBe("data");
    expect(flag(args, "--max-model-len")).toBe("262144");
    expect(args).not.toContain("--nnodes");
  });

  it("spreads K2.5 over two 8×H100 nodes with PP 2; only workers are headless", () => {
    const layout = getLayout(kimi, "h100x8x2");
    const leader = buildVllmArgs(kimi, layout, { ...run, nodeRank: 0, leaderAddress: "kimi-0" });
    const worker = buildVllmArgs(kimi, layout, { ...run, nodeRank: 1, leaderAddress: "kimi-0" });
    for (const args of [leader, worker]) {
      expect(flag(args, "--tensor-parallel-size")).toBe("8");
      expect(flag(args, "--pipeline-parallel-size")).toBe("2");
      expect(flag(args, "--nnodes")).toBe("2");
      expect(flag(args, "--master-addr")).toBe("kimi-0");
    }
    expect(flag(leader, "--node-rank")).toBe("0");
    expect(flag(worker, "--node-rank")).toBe("1");
    expect(leader).not.toContain("--headless");
    expect(worker).toContain("--headless");
  });

  it("refuses multi-node without a leader address and ranks outside the group", () => {
    const layout = getLayout(kimi, "h100x8x2");
    expect(() => buildVllmArgs(kimi, layout, run)).toThrow(/needs leaderAddress/);
    expect(() => buildVllmArgs(kimi, layout, { ...run, nodeRank: 2, leaderAddress: "x" })).toThrow(
      /nodeRank 2 outside 0\.\.1/,
    );
  });

  it("rejects tensor parallelism that does not divide a node's GPUs", () => {
    const bad = { ...getLayout(kimi, "h200x8"), tensorParallel: 3 };
    expect(() => buildVllmArgs(kimi, bad, run)).toThrow(/tensorParallel 3 does not divide the 8 GPUs/);
    const mismatch = { ...getLayout(kimi, "h200x8"), pipelineParallel: 2 };
    expect(() => buildVllmArgs(kimi, mismatch, run)).toThrow(/must equal the 8 GPUs/);
  });

  it("caps the context at the model's own and rejects more", () => {
    const args = buildVllmArgs(kimi, getLayout(kimi), { ...run, maxModelLen: 65_536 });
    expect(flag(args, "--max-model-len")).toBe("65536");
    expect(() => buildVllmArgs(kimi, getLayout(kimi), { ...run, maxModelLen: 1_000_000 })).toThrow(
      /exceeds the model's context length 262144/,
    );
  });

  it("gives every vLLM preset its own parsers and the embedding model the pooling runner", () => {
    const deepseek = buildVllmArgs(getPreset("deepseek"), getLayout(getPreset("deepseek")), run);
    expect(flag(deepseek, "--tool-call-parser")).toBe("deepseek_v31");
    expect(flag(deepseek, "--reasoning-parser")).toBe("deepseek_v3");
    const llama = buildVllmArgs(getPreset("llama"), getLayout(getPreset("llama")), run);
    expect(flag(llama, "--tool-call-parser")).toBe("llama4_pythonic");
    expect(llama).not.toContain("--reasoning-parser");
    const qwen = buildVllmArgs(getPreset("qwen"), getLayout(getPreset("qwen")), run);
    expect(flag(qwen, "--reasoning-parser")).toBe("qwen3");
    const emb = buildVllmArgs(getPreset("embeddings"), getLayout(getPreset("embeddings")), run);
    expect(flag(emb, "--runner")).toBe("pooling");
    expect(emb).not.toContain("--enable-auto-tool-choice");
  });

  it("is deterministic", () => {
    expect(buildVllmArgs(kimi, getLayout(kimi), run)).toEqual(buildVllmArgs(kimi, getLayout(kimi), run));
  });

  it("adopts the K2 recipe's throughput flags on both K2.5 layouts", () => {
    for (const id of ["h200x8", "h100x8x2"]) {
      const args = buildVllmArgs(kimi, getLayout(kimi, id), { ...run, nodeRank: 0, leaderAddress: "l" });
      expect(flag(args, "--decode-context-parallel-size")).toBe("8");
      expect(flag(args, "--max-num-batched-tokens")).toBe("32768");
      expect(JSON.parse(flag(args, "--compilation-config") ?? "{}")).toEqual({
        pass_config: { fuse_allreduce_rms: true },
      });
    }
    const bad = { ...getLayout(kimi, "h200x8"), vllm: { decodeContextParallel: 3 } };
    expect(() => buildVllmArgs(kimi, bad, run)).toThrow(
      /decodeContextParallel 3 must divide tensorParallel 8/,
    );
  });

  it("estimates K2.5's KV capacity per layout as stacks/README.md quotes it (DCP 8 = 8×)", () => {
    const mega = (n: number) => Math.round(n / 1e4) / 100;
    const h200 = kvCapacity(kimi, getLayout(kimi, "h200x8"));
    expect([h200.kvGiBPerGpu.toFixed(1), mega(h200.tokensWithoutDcp), mega(h200.tokens)]).toEqual([
      "51.5",
      0.79,
      6.3,
    ]);
    expect([Math.floor(h200.tokensWithoutDcp / 262_144), Math.floor(h200.tokens / 262_144)]).toEqual([3, 24]);
    const h100 = kvCapacity(kimi, getLayout(kimi, "h100x8x2"));
    expect([h100.kvGiBPerGpu.toFixed(1), mega(h100.tokensWithoutDcp), mega(h100.tokens)]).toEqual([
      "31.3",
      0.96,
      7.66,
    ]);
    expect([Math.floor(h100.tokensWithoutDcp / 262_144), Math.floor(h100.tokens / 262_144)]).toEqual([3, 29]);
    expect(h200.tokens).toBe(8 * h200.tokensWithoutDcp);
  });

  it("pairs the DeepSeek-V3.1 and Llama 4 tool parsers with the chat templates vLLM's docs give", () => {
    const deepseek = buildVllmArgs(getPreset("deepseek"), getLayout(getPreset("deepseek")), run);
    expect(flag(deepseek, "--chat-template")).toBe(
      `${VLLM_CHAT_TEMPLATE_DIR}/tool_chat_template_deepseekv31.jinja`,
    );
    const llama = buildVllmArgs(getPreset("llama"), getLayout(getPreset("llama")), run);
    expect(flag(llama, "--chat-template")).toBe(
      `${VLLM_CHAT_TEMPLATE_DIR}/tool_chat_template_llama4_pythonic.jinja`,
    );
    expect(buildVllmArgs(kimi, getLayout(kimi), run)).not.toContain("--chat-template");
  });

  it("gives multi-node leaders and workers the same rendezvous port when one is set", () => {
    const layout = getLayout(kimi, "h100x8x2");
    for (const nodeRank of [0, 1]) {
      const args = buildVllmArgs(kimi, layout, {
        ...run,
        nodeRank,
        leaderAddress: "10.0.0.1",
        masterPort: 29502,
      });
      expect(flag(args, "--master-port")).toBe("29502");
    }
  });
});

describe("buildLlamaCppArgs", () => {
  const q2 = getPreset("kimi-k2.5-q2");

  it("serves the GGUF with --jinja under the catalog name", () => {
    const args = buildLlamaCppArgs(q2, getLayout(q2), run);
    expect(flag(args, "--model")).toBe(
      "/models/unsloth/Kimi-K2.5-GGUF/UD-Q2_K_XL/Kimi-K2.5-UD-Q2_K_XL-00001-of-00008.gguf",
    );
    expect(flag(args, "--alias")).toBe("kimi-k2.5-q2");
    expect(args).toContain("--jinja");
    expect(args).not.toContain("--cpu-moe");
  });

  it("offloads only the experts that do not fit in VRAM on the H100 layout, loaded resident", () => {
    const layout = getLayout(q2, "h100x4-offload");
    const args = buildLlamaCppArgs(q2, layout, run);
    // --cpu-moe would put all ~330 GiB of experts in host RAM and leave the 4 H100s mostly empty.
    expect(args).not.toContain("--cpu-moe");
    const n = Number(flag(args, "--n-cpu-moe"));
    expect(n).toBeGreaterThan(1);
    expect(n).toBeLessThan(61);
    expect(args).toContain("--no-mmap");
    const plan = expertOffloadPlan(q2, layout);
    // blk.0 is dense: N = 1 + the MoE layers offloaded.
    expect(n).toBe(1 + plan.cpuMoeLayers);
    // What stays on the GPUs fits in 90 % of 4 × 80 GiB with the KV reserve; the rest is host RAM.
    expect(plan.gpuWeightsGiB).toBeLessThanOrEqual(4 * 80 * 0.9 - 4 * 8);
    expect(plan.gpuWeightsGiB + plan.hostRamGiB).toBeGreaterThanOrEqual(q2.weights.sizeGiB);
    expect(plan.hostRamGiB).toBeLessThan(330);
    // The figures stacks/README.md quotes.
    expect(plan).toEqual({ cpuMoeLayers: 18, nCpuMoe: 19, hostRamGiB: 99, gpuWeightsGiB: 251 });
  });

  it("pins a llama.cpp build cut after Kimi K2.5's release (b7400 predates it)", () => {
    const build = Number(/server-cuda-b(\d+)$/.exec(LLAMACPP_IMAGE)?.[1]);
    expect(q2.image).toBe(LLAMACPP_IMAGE);
    expect(build).toBeGreaterThanOrEqual(8070);
  });

  it("returns the arguments only: the image's ENTRYPOINT supplies the executable", () => {
    expect(() => buildVllmArgs(q2, getLayout(q2), run)).toThrow(/runs on llamacpp/);
    expect(buildEngineArgs(q2, getLayout(q2), run)[0]).toBe("--model");
    const kimiArgs = buildEngineArgs(getPreset("kimi"), getLayout(getPreset("kimi")), run);
    expect(kimiArgs[0]).toBe("/models/moonshotai/Kimi-K2.5");
    for (const exe of ["vllm", "serve", "llama-server"]) expect(kimiArgs).not.toContain(exe);
  });
});
