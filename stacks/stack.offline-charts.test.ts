// One program run per file: Pulumi's runtime is global, vitest isolates files.
import { beforeAll, describe, expect, it } from "vitest";
import { runStack, type StackRun } from "./testing/runStack.ts";
import { assertStackInvariants } from "./testing/stackAssertions.ts";
import { readStackFile } from "./testing/stackFiles.ts";

/**
 * Issue 18, item 5: CI plans without a cluster or the internet, so `gonka:kubernetes.offlineCharts`
 * records each Helm chart (a `gonka:k8s:OfflineChart` component) instead of fetching it. prod
 * installs three charts (GPU operator, LeaderWorkerSet, CloudNativePG).
 */
const edit = (v: Record<string, unknown>): Record<string, unknown> => ({
  ...v,
  "gonka:kubernetes": { ...(v["gonka:kubernetes"] as object), offlineCharts: true },
});
let run: StackRun;
beforeAll(async () => {
  run = await runStack("prod", edit);
});

describe("prod with offlineCharts", () => {
  it("registers no Helm chart and one OfflineChart per chart prod installs", () => {
    expect(run.resources.filter((r) => r.type.startsWith("kubernetes:helm.sh/"))).toEqual([]);
    const offline = run.urns.filter((u) => u.includes("gonka:k8s:OfflineChart::"));
    expect(offline.map((u) => u.split("::").at(-1)).sort()).toEqual([
      "cluster-gpu-operator",
      "cluster-lws",
      "database-cnpg",
    ]);
  });

  it("still meets the stack invariants and passes the policy pack", () => {
    assertStackInvariants(run, edit(readStackFile("prod").values));
  });
});
