import { describe, expect, it } from "vitest";
import { parseStackConfig } from "./config.ts";

const models = [{ preset: "qwen3-32b", layout: "h100x2" }] as const;
const k8s = { target: "kubernetes", models, images: { registry: "r", build: true } };
const docker = {
  target: "docker",
  images: { registry: "r", build: true },
  models: [{ ...models[0], hosts: ["gw"] }],
  docker: { hosts: [{ name: "gw", address: "203.0.113.1", gpuType: "H100", gpus: 8 }] },
};
const url = "postgres://gonka:pw@db.internal:5432/gonka";

describe("gonka:database", () => {
  it("defaults to CloudNativePG on Kubernetes and a postgres container on Docker", () => {
    expect(parseStackConfig(k8s).database.kind).toBeUndefined();
    expect(() => parseStackConfig(docker)).toThrow(
      /gonka:database\.kind container needs the Postgres password as a secret: pulumi config set --secret gonka:databasePassword/,
    );
    expect(() => parseStackConfig(docker, ["databasePassword"])).not.toThrow();
  });

  it("refuses kinds the target cannot run", () => {
    expect(() => parseStackConfig({ ...k8s, database: { kind: "container" } })).toThrow(
      /gonka:database\.kind container needs target docker/,
    );
    expect(() => parseStackConfig({ ...docker, database: { kind: "cnpg" } })).toThrow(
      /gonka:database\.kind cnpg needs target kubernetes/,
    );
  });

  it("an external URL must exist, be named by kind external, and be a secret", () => {
    expect(() => parseStackConfig({ ...k8s, database: { kind: "external" } })).toThrow(
      /kind external needs gonka:database\.url: pulumi config set --secret --path gonka:database\.url/,
    );
    expect(() => parseStackConfig({ ...k8s, database: { url } }, ["database"])).toThrow(
      /gonka:database\.url is set but gonka:database\.kind is cnpg/,
    );
    expect(() => parseStackConfig({ ...k8s, database: { kind: "external", url } })).toThrow(
      /gonka:database\.url is in plain text; set it with `pulumi config set --secret --path gonka:database\.url <url>`/,
    );
    expect(() =>
      parseStackConfig({ ...k8s, database: { kind: "external", url: "mysql://x" } }, ["database"]),
    ).toThrow(/gonka:database\.url: must be a postgres:\/\/ URL/);
    expect(parseStackConfig({ ...k8s, database: { kind: "external", url } }, ["database"]).database.url).toBe(
      url,
    );
  });

  it("synchronous standbys must be fewer than the instances", () => {
    const cnpg = (instances: number, synchronousStandbys: number) => ({
      ...k8s,
      database: { cnpg: { instances, synchronousStandbys } },
    });
    expect(() => parseStackConfig(cnpg(1, 1))).toThrow(
      /synchronousStandbys \(1\) must be below instances \(1\)/,
    );
    expect(parseStackConfig(cnpg(3, 1)).database.cnpg).toMatchObject({
      instances: 3,
      synchronousStandbys: 1,
    });
  });

  it("backups: barman to an s3:// path with a retention CNPG accepts, or off", () => {
    const backups = (b: object) => ({ ...k8s, database: { cnpg: { backups: b } } });
    expect(parseStackConfig(k8s).database.cnpg.backups).toEqual({ kind: "off" });
    expect(
      parseStackConfig(backups({ kind: "barman", destinationPath: "s3://b/prod" })).database.cnpg.backups,
    ).toEqual({
      kind: "barman",
      destinationPath: "s3://b/prod",
      retentionPolicy: "30d",
      schedule: "0 0 3 * * *",
    });
    expect(() => parseStackConfig(backups({ kind: "barman", destinationPath: "/mnt/backups" }))).toThrow(
      /destinationPath: must be an s3:\/\//,
    );
    expect(() =>
      parseStackConfig(backups({ kind: "barman", destinationPath: "s3://b", retentionPolicy: "30 days" })),
    ).toThrow(/retentionPolicy: like 30d/);
  });
});

describe("gonka:gateway replicas", () => {
  it("docker runs one gateway container; the HPA ceiling is not below the floor", () => {
    expect(() =>
      parseStackConfig({ ...docker, database: { kind: "sqlite" }, gateway: { replicas: 2 } }),
    ).toThrow(/gonka:database\.kind is sqlite/);
    expect(() => parseStackConfig({ ...docker, gateway: { replicas: 2 } }, ["databasePassword"])).toThrow(
      /gonka:gateway\.replicas is 2; the docker target runs one gateway container/,
    );
    expect(() => parseStackConfig({ ...k8s, gateway: { replicas: 3, maxReplicas: 2 } })).toThrow(
      /gonka:gateway\.maxReplicas \(2\) is below gonka:gateway\.replicas \(3\)/,
    );
  });
});
