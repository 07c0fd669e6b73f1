import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../testing/stackFiles.ts";

/**
 * build.sh's message when the Go module proxy cannot serve the CLI module: an empty cache
 * folder and module cache, and GOPROXY=off, as on a machine that cannot reach the proxy.
 */
const dir = mkdtempSync(join(tmpdir(), "gonka-engine-build-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("stacks/engine/build.sh without the Go module proxy", () => {
  it("stops with exit 4 and says which module the proxy did not serve", () => {
    const r = spawnSync("bash", [`${REPO_ROOT}stacks/engine/build.sh`], {
      encoding: "utf8",
      env: {
        ...process.env,
        GONKA_ENGINE_CACHE: join(dir, "fresh-home/.cache/gonka/engine"),
        GOMODCACHE: join(dir, "gomod"),
        GOPROXY: "off",
      },
      timeout: 60_000,
    });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain(
      "the Go module proxy (off) did not serve github.com/pulumi/pulumi/pkg/v3@v3.276.0",
    );
    expect(r.stdout).toBe("");
  });
});
