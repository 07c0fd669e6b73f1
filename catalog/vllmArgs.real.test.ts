/**
 * Every vLLM command line the catalog builds (every vLLM preset × layout × node rank) is accepted
 * by the pinned vLLM's own `vllm serve` argument parser and its post-parse validation, run in the
 * reference engine's venv (no GPU needed). A flag renamed or removed upstream fails here, not on a
 * GPU node at deploy time.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureInstalled, INSTALL_TIMEOUT_MS } from "../reference-engine/ensureInstalled.ts";
import { REFERENCE_ENGINE_DIR } from "../reference-engine/paths.ts";
import { buildVllmArgs, PRESETS, VLLM_CHAT_TEMPLATE_DIR } from "./index.ts";

/** `templateDir` stands in for the images' VLLM_CHAT_TEMPLATE_DIR: the same files, from vLLM's sdist. */
function commandLines(templateDir: string): { name: string; args: string[] }[] {
  const out: { name: string; args: string[] }[] = [];
  for (const preset of PRESETS.filter((p) => p.engine === "vllm")) {
    for (const layout of preset.layouts) {
      for (let rank = 0; rank < layout.nodes; rank++) {
        const run = { weightsDir: "/models", port: 8000, nodeRank: rank, leaderAddress: "10.0.0.1" };
        const args = buildVllmArgs(preset, layout, run).map((a) =>
          a.startsWith(`${VLLM_CHAT_TEMPLATE_DIR}/`)
            ? join(templateDir, a.slice(VLLM_CHAT_TEMPLATE_DIR.length))
            : a,
        );
        out.push({ name: `${preset.id}/${layout.id}/rank${rank}`, args });
      }
    }
  }
  return out;
}

describe("catalog vLLM arguments against vLLM 0.20.2's parser", () => {
  it(
    "accepts every preset × layout × node rank",
    async () => {
      const paths = await ensureInstalled();
      // A control: the same parser must refuse a misspelt flag, or this test could not fail.
      const control = { name: "control/misspelt-flag", args: ["/models/x", "--tensor-parallel-sizes", "8"] };
      const lines = [...commandLines(paths.chatTemplateDir), control];
      expect(lines.length).toBeGreaterThanOrEqual(9);
      const res = spawnSync(paths.python, [join(REFERENCE_ENGINE_DIR, "check_vllm_args.py")], {
        input: JSON.stringify(lines),
        encoding: "utf8",
        env: { ...process.env, HF_HUB_OFFLINE: "1", VLLM_NO_USAGE_STATS: "1" },
        timeout: 120_000,
      });
      expect(res.status, res.stderr.slice(-2000)).toBe(0);
      const results = JSON.parse(res.stdout.trim().split("\n").at(-1)!) as {
        name: string;
        ok: boolean;
        error: string | null;
      }[];
      expect(results.map((r) => r.name)).toEqual(lines.map((l) => l.name));
      expect(results.pop()).toMatchObject({ name: control.name, ok: false });
      expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`)).toEqual([]);
    },
    INSTALL_TIMEOUT_MS + 150_000,
  );
});
