// One program run per file: Pulumi's runtime is global, vitest isolates files.
import { beforeAll, describe, expect, it } from "vitest";
import { runStack, type StackRun } from "./testing/runStack.ts";
import {
  assertScalesOut,
  CNPG_SCHEDULED_BACKUP,
  cnpgCluster,
  deployedGatewayReplicas,
} from "./testing/scaleAssertions.ts";
import { assertServes } from "./testing/servingAssertions.ts";
import { assertStackInvariants } from "./testing/stackAssertions.ts";
import { readStackFile } from "./testing/stackFiles.ts";
import { withBaseDigests } from "./testing/variants.ts";

const edit = (v: Record<string, unknown>): Record<string, unknown> => withBaseDigests(v);
let run: StackRun;
beforeAll(async () => {
  run = await runStack("prod", edit);
});

describe("Pulumi.prod.yaml (withBaseDigests) under mocks", () => {
  it("meets the stack invariants and passes the policy pack", () => {
    assertStackInvariants(run, edit(readStackFile("prod").values));
  });

  it("would serve: engines run once, write where they can, rendezvous privately, keep ops and engines private", () => {
    assertServes(run, edit(readStackFile("prod").values));
  });

  it("keeps keys and usage in its database and scales the gateway out (issue 11)", () => {
    assertScalesOut(run, edit(readStackFile("prod").values));
  });
  it("prod: 3 gateway replicas (HPA to 6) on three CloudNativePG instances, synchronous, with backups", () => {
    expect(deployedGatewayReplicas(run)).toEqual({ min: 3, max: 6 });
    const cluster = cnpgCluster(run);
    expect(cluster?.spec.instances).toBe(3);
    expect(cluster?.spec.postgresql.synchronous).toEqual({
      method: "any",
      number: 1,
      dataDurability: "required",
    });
    expect(cluster?.spec.backup.barmanObjectStore.s3Credentials.accessKeyId).toEqual({
      name: "gonka-db-backup-s3",
      key: "ACCESS_KEY_ID",
    });
    expect(run.resources.filter((r) => r.type === CNPG_SCHEDULED_BACKUP)).toHaveLength(1);
  });
});
