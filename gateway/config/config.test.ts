import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDataDir } from "../store/testing.ts";
import { buildGatewayConfig } from "./fromCatalog.ts";
import { loadConfig, parseConfig } from "./load.ts";

const replica = [{ url: "http://127.0.0.1:9" }];

describe("gateway config", () => {
  it("refuses a name used by two models, naming both", () => {
    expect(() =>
      parseConfig({
        models: [
          { id: "a", aliases: ["fast"], replicas: replica },
          { id: "b", aliases: ["fast"], replicas: replica },
        ],
      }),
    ).toThrow(/models\.1: model name "fast" is used by both a and b/);
  });

  it("takes a model's replicas from a list or from Kubernetes discovery, exactly one of them", () => {
    const discovery = { kind: "kubernetes", namespace: "models", service: "kimi-engines" };
    const parsed = parseConfig({ models: [{ id: "a", discovery }] }).models[0]!;
    expect(parsed.replicas).toEqual([]);
    expect(parsed.discovery).toEqual(discovery);
    expect(() => parseConfig({ models: [{ id: "a", replicas: replica, discovery }] })).toThrow(
      /models\.0: model a has both `replicas` and `discovery`/,
    );
    expect(() => parseConfig({ models: [{ id: "a" }] })).toThrow(/models\.0: model a has no replicas/);
    expect(() => parseConfig({ models: [{ id: "a", replicas: [] }] })).toThrow(/model a has no replicas/);
    expect(() => parseConfig({ models: [{ id: "a", discovery: { ...discovery, service: "" } }] })).toThrow(
      /models\.0\.discovery\.service/,
    );
  });

  it("accepts an alias that repeats the model's own id", () => {
    expect(parseConfig({ models: [{ id: "a", aliases: ["a"], replicas: replica }] }).models[0]!.id).toBe("a");
  });

  it("fails at generation when a preset is deployed twice or an extra alias collides", () => {
    const urls = ["http://127.0.0.1:9"];
    expect(() =>
      buildGatewayConfig({
        models: [
          { preset: "kimi", replicaUrls: urls },
          { preset: "kimi-k2.5", replicaUrls: urls },
        ],
      }),
    ).toThrow(
      /generated gateway config is invalid:\n.*"kimi-k2\.5" is used by both kimi-k2\.5 and kimi-k2\.5/,
    );
    expect(() =>
      buildGatewayConfig({
        models: [
          { preset: "qwen3-32b", replicaUrls: urls },
          { preset: "deepseek-v3.1", replicaUrls: urls, extraAliases: ["qwen"] },
        ],
      }),
    ).toThrow(/"qwen" is used by both/);
  });

  it("puts the operational listener on 127.0.0.1:8081 unless GONKA_OPS_HOST / GONKA_OPS_PORT say otherwise", () => {
    const data = tempDataDir();
    const file = join(data.dir, "gateway.json");
    writeFileSync(file, JSON.stringify({ models: [{ id: "a", replicas: replica }] }));
    expect(loadConfig(file, {}).opsListen).toEqual({ host: "127.0.0.1", port: 8081 });
    expect(loadConfig(file, { GONKA_OPS_HOST: "0.0.0.0", GONKA_OPS_PORT: "9100" }).opsListen).toEqual({
      host: "0.0.0.0",
      port: 9100,
    });
    expect(loadConfig(file, {}).metering.fsync).toBe("off");
    data.remove();
  });
});
