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
          gatewayUrl: "http://127.0.0.1:9/",
          adminKey: "adm",
          apiKey: "gk-from-outputs",
          models: ["kimi-k2.5", { id: "qwen3-32b" }],
        });
      },
    });
    expect(calls[0]).toEqual(["stack", "output", "--json", "--show-secrets", "-s", "staging"]);
    expect(t).toMatchObject({
      name: "staging",
      baseUrl: "http://127.0.0.1:9",
      adminKey: "adm",
      apiKey: "gk-from-outputs",
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

describe("temporary keys", () => {
  it("creates an API key on the roomiest tier when only an admin key is known, and revokes it on close", async () => {
    const { startProcessFixture, ADMIN_KEY } = await import("../gateway/test/processFixture.ts");
    const fx = await startProcessFixture({ preset: "qwen3-32b" });
    try {
      const gw = await fx.startGateway();
      const target = await resolveTarget({ baseUrl: gw.url, adminUrl: gw.opsUrl, adminKey: ADMIN_KEY });
      expect(target.apiKey).toMatch(/^gk-/);
      const call = () =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${target.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({
            model: "qwen3-32b",
            max_tokens: 2,
            messages: [{ role: "user", content: "x" }],
          }),
        });
      expect((await call()).status).toBe(200);
      const keys = (await (
        await fetch(`${gw.opsUrl}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
      ).json()) as { data: { tier: string }[] };
      expect(keys.data[0]!.tier).toBe("enterprise");
      await target.close();
      expect((await call()).status).toBe(401);
    } finally {
      await fx.close();
    }
  });
});
