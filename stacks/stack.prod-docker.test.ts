// One program run per file: Pulumi's runtime is global, vitest isolates files.
import { beforeAll, describe, it } from "vitest";
import { runStack, type StackRun } from "./testing/runStack.ts";
import { assertScalesOut } from "./testing/scaleAssertions.ts";
import { assertServes } from "./testing/servingAssertions.ts";
import { assertStackInvariants } from "./testing/stackAssertions.ts";
import { readStackFile } from "./testing/stackFiles.ts";
import { asDocker, withBaseDigests } from "./testing/variants.ts";

const edit = (v: Record<string, unknown>): Record<string, unknown> => withBaseDigests(asDocker(v));
let run: StackRun;
beforeAll(async () => {
  run = await runStack("prod", edit);
});

describe("Pulumi.prod.yaml (asDocker,withBaseDigests) under mocks", () => {
  // Docker runs one gateway container, and prod needs two: the policy pack refuses exactly that.
  it("meets the stack invariants; the policy pack refuses it only for its single gateway", () => {
    assertStackInvariants(run, edit(readStackFile("prod").values), ["prod-gateway-replicas"]);
  });

  it("would serve: engines run once, write where they can, rendezvous privately, keep ops and engines private", () => {
    assertServes(run, edit(readStackFile("prod").values));
  });

  it("keeps keys and usage in its database and scales the gateway out (issue 11)", () => {
    assertScalesOut(run, edit(readStackFile("prod").values));
  });
});
