import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildVllmArgs, getLayout, getPreset } from "../catalog/index.ts";
import { ensureInstalled } from "./ensureInstalled.ts";
import { assertInstalled, INSTALL_COMMAND, referencePaths } from "./paths.ts";
import { FORCING_PROCESSOR, referenceVllmArgs } from "./vllmArgs.ts";

describe("reference engine setup", () => {
  it("fails, naming the install command, when the venv and model are missing", () => {
    const home = mkdtempSync(join(tmpdir(), "vllm-ref-"));
    try {
      const paths = referencePaths({ GONKA_VLLM_REF_HOME: home });
      expect(() => assertInstalled(paths)).toThrow(INSTALL_COMMAND);
      expect(() => assertInstalled(paths)).toThrow(/virtualenv .* and the tiny model/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("installs on demand when missing, and says so when the install fails", async () => {
    const home = mkdtempSync(join(tmpdir(), "vllm-ref-"));
    try {
      // An interpreter that does not exist makes install.sh fail at its first step.
      const env = { ...process.env, GONKA_VLLM_REF_HOME: home, PYTHON: join(home, "no-python3") };
      await expect(ensureInstalled(env)).rejects.toThrow(/install\.sh failed \(exit [1-9]/);
      // A venv left by an interrupted install (no requirements marker) still counts as missing.
      mkdirSync(join(home, "venv", "bin"), { recursive: true });
      writeFileSync(join(home, "venv", "bin", "python"), "");
      expect(() => assertInstalled(referencePaths(env))).toThrow(/virtualenv/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("runs the catalog's kimi-k2.5 arguments, adapted only for one loopback CPU process", () => {
    const preset = getPreset("kimi-k2.5");
    const catalog = buildVllmArgs(preset, getLayout(preset), { weightsDir: "/w", port: 1234 });
    const args = referenceVllmArgs("/w", 1234);
    expect(args.slice(0, catalog.length).filter((a, i) => a !== catalog[i])).toEqual(["127.0.0.1", "1", "1"]);
    expect(args[args.indexOf("--host") + 1]).toBe("127.0.0.1");
    expect(args[args.indexOf("--tensor-parallel-size") + 1]).toBe("1");
    expect(args[args.indexOf("--decode-context-parallel-size") + 1]).toBe("1");
    expect(args.slice(catalog.length)).toEqual(["--logits-processors", FORCING_PROCESSOR]);
    expect(args[0]).toBe("/w/moonshotai/Kimi-K2.5");
  });
});
