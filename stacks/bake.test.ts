import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VLLM_IMAGE } from "../catalog/index.ts";
import { bakeFile, bakeVar } from "./bake.ts";
import { REPO_ROOT } from "./testing/stackFiles.ts";

describe("docker-bake.json generated from the catalog", () => {
  it("has one target per gonka:images.refs key, paths relative to the repository root", () => {
    const bake = bakeFile();
    expect(bake.group.default.targets).toEqual(["gateway", "vllm", "llamacpp"]);
    for (const t of Object.values(bake.target)) {
      expect(existsSync(`${REPO_ROOT}${t.dockerfile}`), t.dockerfile).toBe(true);
      expect(t.platforms).toEqual(["linux/amd64"]);
      expect(t.tags[0]).toMatch(/^\$\{REGISTRY\}\/gonka-/);
    }
    expect(bake.target["vllm"]?.args).toEqual({ VLLM_BASE: bakeVar("VLLM_BASE"), VLLM_TAG: "v0.20.2" });
    expect(bake.variable["VLLM_BASE"]?.default).toBe(VLLM_IMAGE);
    expect(bake.target["gateway"]?.tags).toEqual([
      `${bakeVar("REGISTRY")}/gonka-gateway:${bakeVar("GATEWAY_TAG")}`,
    ]);
  });

  it("prints as JSON from the command line, as the images workflow runs it", () => {
    const out = execFileSync(process.execPath, [`${REPO_ROOT}stacks/bake.ts`], { encoding: "utf8" });
    expect(JSON.parse(out)).toEqual(bakeFile());
  });
});
