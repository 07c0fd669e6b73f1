import { describe, expect, it } from "vitest";
import { databaseSchema } from "../databaseConfig.ts";
import { cnpgClusterSpec, cnpgScheduledBackupSpec, postgresUrl } from "./database.ts";

const cnpg = (raw: object) => databaseSchema.parse({ cnpg: raw }).cnpg;

describe("CloudNativePG specs", () => {
  it("one instance by default: no synchronous stanza, preferred anti-affinity, no backups", () => {
    const spec = cnpgClusterSpec("gonka", cnpg({})).spec;
    expect(spec).toMatchObject({
      instances: 1,
      enableSuperuserAccess: false,
      storage: { size: "20Gi" },
      affinity: { enablePodAntiAffinity: true, podAntiAffinityType: "preferred" },
    });
    expect("postgresql" in spec).toBe(false);
    expect("backup" in spec).toBe(false);
  });

  it("backups without a credentials Secret use the pods' IAM role; with an endpoint for S3-compatible stores", () => {
    const backups = {
      kind: "barman",
      destinationPath: "s3://b/staging",
      endpointURL: "https://minio.internal:9000",
    };
    const spec = cnpgClusterSpec("gonka", cnpg({ backups })).spec as { backup?: unknown };
    expect(spec.backup).toEqual({
      retentionPolicy: "30d",
      barmanObjectStore: {
        destinationPath: "s3://b/staging",
        endpointURL: "https://minio.internal:9000",
        s3Credentials: { inheritFromIAMRole: true },
      },
    });
    const parsed = cnpg({ backups }).backups;
    if (parsed.kind !== "barman") throw new Error("expected barman");
    expect(cnpgScheduledBackupSpec("gonka", parsed).spec).toEqual({
      schedule: "0 0 3 * * *",
      cluster: { name: "gonka-db" },
      method: "barmanObjectStore",
      backupOwnerReference: "self",
      immediate: true,
    });
  });
});

describe("postgres container URL", () => {
  it("percent-encodes the password so any generated password parses", () => {
    const url = postgresUrl("p@ss/w:rd#1");
    expect(url).toBe("postgres://gonka:p%40ss%2Fw%3Ard%231@127.0.0.1:5432/gonka");
    expect(decodeURIComponent(new URL(url).password)).toBe("p@ss/w:rd#1");
  });
});
