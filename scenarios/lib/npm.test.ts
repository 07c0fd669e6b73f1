/** The shared `npm install` step of the OpenClaw scenario and the bench's Portkey peer, run for real. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { npmInstall } from "./npm.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(manifest: string): string {
  const dir = mkdtempSync(join(tmpdir(), "gonka-npm-install-"));
  dirs.push(dir);
  writeFileSync(join(dir, "package.json"), manifest);
  return dir;
}

describe("npmInstall", () => {
  it("installs a manifest without dependencies (no registry needed) and leaves a lockfile", async () => {
    const dir = folder(JSON.stringify({ name: "probe", version: "1.0.0", private: true }));
    await npmInstall(dir, "probe", () => {});
    expect(existsSync(join(dir, "package-lock.json"))).toBe(true);
  });

  it("rejects with the end of npm's output when npm fails", async () => {
    const dir = folder("{ not json");
    await expect(npmInstall(dir, "probe", () => {})).rejects.toThrow(
      /npm install exited [1-9]\d*:\n[\s\S]*JSON/,
    );
  });
});
