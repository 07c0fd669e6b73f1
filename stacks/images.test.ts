import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getPreset } from "../catalog/index.ts";
import { GATEWAY_MAIN } from "../harness/spawnGateway.ts";
import { GATEWAY_COMMAND, GATEWAY_UID } from "./specs/gateway.ts";
import { isDigestPinned } from "./specs/images.ts";
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
