import { describe, expect, it } from "vitest";
import { resolveTarget, targetOptionsFromArgs } from "./targets.ts";

describe("targets", () => {
  it("reads flags before the environment", () => {
    const opts = targetOptionsFromArgs(["--target", "staging", "--api-key=gk-1"], {
      GONKA_TARGET: "prod",
      GONKA_API_KEY: "gk-env",
      GONKA_ADMIN_KEY: "adm",
    });
    expect(opts).toMatchObject({ target: "staging", apiKey: "gk-1", adminKey: "adm" });
  });

  it("uses an explicit base URL as given", async () => {
    const t = await resolveTarget({ baseUrl: "http://127.0.0.1:9/", apiKey: "gk-x" });
    expect(t).toMatchObject({ name: "url", baseUrl: "http://127.0.0.1:9", apiKey: "gk-x" });
  });

  it("reads a Pulumi stack's outputs", async () => {
    const calls: string[][] = [];
    const t = await resolveTarget({
      target: "staging",
      pulumi: async (args) => {
        calls.push(args);
        return JSON.stringify({
          gatewayUrl: "https://api.staging.example/",
          adminKey: "adm",
          models: ["kimi-k2.5", { id: "qwen3-32b" }],
        });
      },
    });
    expect(calls[0]).toEqual(["stack", "output", "--json", "--show-secrets", "-s", "staging"]);
    expect(t).toMatchObject({
      name: "staging",
      baseUrl: "https://api.staging.example",
      adminKey: "adm",
      models: ["kimi-k2.5", "qwen3-32b"],
    });
  });

  it("explains a missing Pulumi CLI or an output-less stack", async () => {
    await expect(
      resolveTarget({
        target: "prod",
        pulumi: async () => {
          throw new Error("spawn pulumi ENOENT");
        },
      }),
    ).rejects.toThrow(/Pulumi stack "prod".*CLI installed/);
    await expect(resolveTarget({ target: "dev", pulumi: async () => "{}" })).rejects.toThrow(
      /no gatewayUrl output/,
    );
  });
});
