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

const edit = (v: Record<string, unknown>): Record<string, unknown> => v;
let run: StackRun;
beforeAll(async () => {
  run = await runStack("staging", edit);
});

describe("Pulumi.staging.yaml under mocks", () => {
  it("meets the stack invariants and passes the policy pack", () => {
    assertStackInvariants(run, edit(readStackFile("staging").values));
  });

  it("would serve: engines run once, write where they can, rendezvous privately, keep ops and engines private", () => {
    assertServes(run, edit(readStackFile("staging").values));
  });

  it("keeps keys and usage in its database and scales the gateway out (issue 11)", () => {
    assertScalesOut(run, edit(readStackFile("staging").values));
  });
  it("staging: 2 gateway replicas (HPA to 4) on a one-instance CloudNativePG cluster, no backups", () => {
    expect(deployedGatewayReplicas(run)).toEqual({ min: 2, max: 4 });
    const cluster = cnpgCluster(run);
    expect(cluster?.spec.instances).toBe(1);
    expect(cluster?.spec.postgresql?.synchronous).toBeUndefined();
    expect(run.resources.some((r) => r.type === CNPG_SCHEDULED_BACKUP)).toBe(false);
  });
});
