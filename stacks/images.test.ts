import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  buildEngineArgs,
  getLayout,
  getPreset,
  PRESETS,
  VLLM_CHAT_TEMPLATE_DIR,
  VLLM_IMAGE,
} from "../catalog/index.ts";
import { GATEWAY_MAIN } from "../harness/spawnGateway.ts";
import { dockerEngineSpec } from "./specs/dockerModelServer.ts";
import { ENGINE_PORT, WEIGHTS_MOUNT } from "./specs/engine.ts";
import { GATEWAY_COMMAND, GATEWAY_UID } from "./specs/gateway.ts";
import { ENGINE_ENTRYPOINTS, effectiveArgv, engineArgvProblems, isDigestPinned } from "./specs/images.ts";
import { enginePodSpec } from "./specs/k8sModelServer.ts";
import { REPO_ROOT } from "./testing/stackFiles.ts";

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Minimal Dockerfile reader: comments dropped, `\` continuations joined, one instruction per entry. */
function parseDockerfile(path: string): Instruction[] {
  const text = readFileSync(`${REPO_ROOT}${path}`, "utf8")
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [op = "", ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/** Base images after substituting ARG defaults, with whether a default was all that pinned them. */
function bases(instrs: Instruction[]): string[] {
  const args = new Map<string, string>();
  const out: string[] = [];
  for (const i of instrs) {
    if (i.op === "ARG") {
      const [name = "", value = ""] = i.args.split("=");
      args.set(name, value);
    }
    if (i.op === "FROM") {
      const image = i.args.split(/\s+/)[0] ?? "";
      out.push(image.replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? ""));
    }
  }
  return out;
}

const last = (instrs: Instruction[], op: string) => instrs.filter((i) => i.op === op).at(-1);

describe("images/gateway", () => {
  const df = parseDockerfile("images/gateway/Dockerfile");

  it("is multi-stage with digest-pinned Node 24 bases", () => {
    const froms = bases(df);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) {
      expect(f).toMatch(/^node:24[-\w.]*@sha256:[0-9a-f]{64}$/);
      expect(isDigestPinned(f)).toBe(true);
    }
  });

  it("installs production dependencies only and builds native addons in the build stage", () => {
    const runs = df.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /python3.*make.*g\+\+/.test(r))).toBe(true);
    const copies = df.filter((i) => i.op === "COPY").map((i) => i.args);
    expect(copies.some((c) => /\bcatalog\b/.test(c))).toBe(true);
    expect(copies.some((c) => /\bgateway\b/.test(c))).toBe(true);
  });

  it("runs as the non-root uid the stacks assume, with a /healthz HEALTHCHECK", () => {
    const user = last(df, "USER")?.args ?? "root";
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(user.split(":")[0]).toBe(String(GATEWAY_UID));
    expect(last(df, "HEALTHCHECK")?.args).toMatch(/\/healthz/);
  });

  it("starts with the same command as the local stack and the stacks", () => {
    const cmd = JSON.parse(last(df, "CMD")?.args ?? "[]");
    expect(cmd).toEqual([...GATEWAY_COMMAND]);
    // The local stack runs node <repo>/gateway/main.ts --config <file>.
    expect(GATEWAY_MAIN).toBe(`${REPO_ROOT}gateway/main.ts`);
    expect(readFileSync(`${REPO_ROOT}harness/spawnGateway.ts`, "utf8")).toContain(
      'args: ["--config", opts.configPath]',
    );
    expect(cmd.slice(0, 3)).toEqual(["node", "gateway/main.ts", "--config"]);
  });
});

describe("engine images", () => {
  it.each([
    ["images/vllm-kimi-k2.5/Dockerfile", "kimi-k2.5", "VLLM_BASE"],
    ["images/llamacpp-gguf/Dockerfile", "kimi-k2.5-q2", "LLAMACPP_BASE"],
  ])("%s builds on the catalog's tag, overridable by a digest-pinned base", (path, presetId, arg) => {
    const df = parseDockerfile(path);
    const [base] = bases(df);
    expect(base).toBe(getPreset(presetId).image);
    expect(df.find((i) => i.op === "FROM")?.args).toBe(`\${${arg}}`);
    expect(last(df, "HEALTHCHECK")?.args).toMatch(/\/health\b/);
    expect(df.some((i) => i.op === "ENV" && /HF_HUB_OFFLINE=1/.test(i.args))).toBe(true);
  });

  it("the vLLM base is at least 0.20 (fixed streaming kimi_k2 tool parser)", () => {
    const [, major = "0", minor = "0"] = /:v(\d+)\.(\d+)/.exec(getPreset("kimi-k2.5").image) ?? [];
    expect(Number(major) * 1000 + Number(minor)).toBeGreaterThanOrEqual(20);
  });
});

/** The image's ENTRYPOINT as Docker reads it (exec form only; shell form would need a shell). */
function entrypointOf(path: string): string[] {
  const e = last(parseDockerfile(path), "ENTRYPOINT");
  if (!e) throw new Error(`${path} has no ENTRYPOINT`);
  return JSON.parse(e.args) as string[];
}

const ENGINE_DOCKERFILES = {
  vllm: "images/vllm-kimi-k2.5/Dockerfile",
  llamacpp: "images/llamacpp-gguf/Dockerfile",
} as const;

describe("effective engine argv: image ENTRYPOINT composed with the container, every image × target", () => {
  it("the ENTRYPOINTs the stacks and the policy pack assume are the Dockerfiles' own", () => {
    for (const [engine, path] of Object.entries(ENGINE_DOCKERFILES))
      expect(entrypointOf(path)).toEqual(ENGINE_ENTRYPOINTS[engine as keyof typeof ENGINE_DOCKERFILES]);
  });

  const cases = PRESETS.flatMap((p) =>
    p.layouts.filter((l) => l.nodes === 1).map((l) => [p.id, l.id] as const),
  );
  it.each(cases)("%s on %s runs the engine exactly once", (presetId, layoutId) => {
    const preset = getPreset(presetId);
    const layout = getLayout(preset, layoutId);
    const entry = entrypointOf(ENGINE_DOCKERFILES[preset.engine]);
    const exe = entry[0] === "vllm" ? ["vllm", "serve"] : ["/app/llama-server"];
    // Kubernetes: `command` replaces ENTRYPOINT, `args` replaces CMD.
    const c = enginePodSpec(
      {
        preset,
        layout,
        replicas: 1,
        image: "img",
        namespace: "ns",
        weightsClaim: "w",
        nodeSelector: {},
        tolerations: [],
        engineKeySecret: "k",
      },
      "single",
    ).containers[0]!;
    const k8sArgv = effectiveArgv(entry, { entrypoint: (c as { command?: string[] }).command, cmd: c.args });
    expect(k8sArgv).toEqual([
      ...exe,
      ...buildEngineArgs(preset, layout, { weightsDir: WEIGHTS_MOUNT, port: ENGINE_PORT }),
    ]);
    // Docker: `entrypoints` replaces ENTRYPOINT, `command` replaces CMD.
    const node = {
      host: "h",
      address: "a",
      rendezvousAddress: "p",
      deviceIds: ["0"],
      port: 8000,
      nodeRank: 0,
    };
    const d = dockerEngineSpec({
      preset,
      layout,
      replica: 0,
      node,
      leader: node,
      hostWeightsDir: "/srv",
      bindAddress: "127.0.0.1",
      fabric: { rdma: true, ibHca: "mlx5", socketIfname: "eth0" },
    });
    const dockerArgv = effectiveArgv(entry, {
      entrypoint: (d as { entrypoints?: string[] }).entrypoints,
      cmd: d.command,
    });
    expect(dockerArgv.slice(0, exe.length)).toEqual(exe);
    for (const argv of [k8sArgv, dockerArgv]) {
      expect(engineArgvProblems(preset.engine, argv)).toEqual([]);
      expect(argv.filter((a) => a === exe.at(-1)).length).toBe(1);
    }
  });
});

describe("images/vllm-kimi-k2.5 extras", () => {
  const df = parseDockerfile(ENGINE_DOCKERFILES.vllm);

  it("ships every chat template the catalog passes, from the same vLLM tag as the base", () => {
    const adds = df.filter((i) => i.op === "ADD").map((i) => i.args);
    const tag = VLLM_IMAGE.slice(VLLM_IMAGE.lastIndexOf(":") + 1);
    expect(df.find((i) => i.op === "ARG" && i.args.startsWith("VLLM_TAG="))?.args).toBe(`VLLM_TAG=${tag}`);
    const templates = PRESETS.flatMap((p) => (p.chatTemplate ? [p.chatTemplate] : []));
    expect(templates.length).toBeGreaterThanOrEqual(2);
    for (const t of templates)
      expect(adds).toContain(
        `https://raw.githubusercontent.com/vllm-project/vllm/\${VLLM_TAG}/examples/${t} ${VLLM_CHAT_TEMPLATE_DIR}/`,
      );
  });

  it("keeps HF_HOME out of the read-only weights mount and drops the no-op hf_transfer", () => {
    const env = df
      .filter((i) => i.op === "ENV")
      .map((i) => i.args)
      .join(" ");
    expect(env).toMatch(/HF_HOME=\/var\/cache\//);
    expect(env).not.toMatch(/HF_HOME=\/models/);
    expect(df.some((i) => /hf_transfer/.test(i.args))).toBe(false);
  });
});
