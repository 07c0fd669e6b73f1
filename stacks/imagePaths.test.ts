import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./testing/stackFiles.ts";

/**
 * Issue 18, item 1: under the real engine (`main: stacks/`) the program runs with the working
 * directory `stacks/`, so build paths relative to the working directory miss the Dockerfiles.
 * A separate Node process started in `stacks/` reads the build specs as the engine would.
 */
function specsFrom(cwd: string): Record<string, { context: string; dockerfile: string }> {
  const script = `
    const { imageBuildSpec } = await import(${JSON.stringify(`${REPO_ROOT}stacks/specs/images.ts`)});
    const { getPreset } = await import(${JSON.stringify(`${REPO_ROOT}catalog/index.ts`)});
    const out = {
      gateway: imageBuildSpec("gateway", {}),
      vllm: imageBuildSpec("vllm", { enginePreset: getPreset("kimi-k2.5") }),
      llamacpp: imageBuildSpec("llamacpp", { enginePreset: getPreset("kimi-k2.5-q2") }),
    };
    process.stdout.write(JSON.stringify(out));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd,
    encoding: "utf8",
  });
  return JSON.parse(out) as Record<string, { context: string; dockerfile: string }>;
}

describe("image build paths (issue 18, item 1)", () => {
  for (const cwd of ["stacks", "stacks/policy", "."]) {
    it(`resolve to the repository's images/ with the working directory ${cwd}/`, () => {
      const specs = specsFrom(join(REPO_ROOT, cwd));
      for (const [image, spec] of Object.entries(specs)) {
        expect(isAbsolute(spec.dockerfile), image).toBe(true);
        expect(isAbsolute(spec.context), image).toBe(true);
        // Resolved from this test's own working directory (the repository root) and from
        // the child's: an absolute path is the same file from both.
        expect(existsSync(spec.dockerfile), `${image}: ${spec.dockerfile}`).toBe(true);
        expect(statSync(spec.context).isDirectory(), image).toBe(true);
      }
      expect(specs["gateway"]?.context).toBe(REPO_ROOT.replace(/\/$/, ""));
      expect(specs["vllm"]?.dockerfile).toBe(`${REPO_ROOT}images/vllm-kimi-k2.5/Dockerfile`);
      expect(specs["llamacpp"]?.context).toBe(`${REPO_ROOT}images/llamacpp-gguf`);
    });
  }
});
