// One program run per file: Pulumi's runtime is global, vitest isolates files.
import { beforeAll, describe, expect, it } from "vitest";
import { runStack, type StackRun } from "./testing/runStack.ts";

const ROUTER = {
  alias: "auto",
  rules: [{ name: "short", when: { promptTokensAtMost: 500, tools: false }, model: "kimi-k2.5-q2" }],
  default: { model: "kimi-k2.5" },
};
let run: StackRun;
beforeAll(async () => {
  run = await runStack("staging", (v) => ({
    ...v,
    "gonka:gateway": { ...(v["gonka:gateway"] as object), routers: [ROUTER] },
  }));
});

describe("Pulumi.staging.yaml with gonka:gateway.routers under mocks", () => {
  it("puts the router aliases in the gateway's generated config", () => {
    const configMaps = run.resources.filter(
      (r) =>
        r.type === "kubernetes:core/v1:ConfigMap" &&
        typeof (r.inputs["data"] as Record<string, unknown>)?.["gateway.json"] === "string",
    );
    expect(configMaps).toHaveLength(1);
    const config = JSON.parse((configMaps[0]!.inputs["data"] as Record<string, string>)["gateway.json"]!);
    expect(config.routers).toEqual([
      expect.objectContaining({ alias: "auto", default: expect.objectContaining({ model: "kimi-k2.5" }) }),
    ]);
    expect(config.routers[0].rules[0]).toMatchObject({ name: "short", model: "kimi-k2.5-q2" });
  });
});
