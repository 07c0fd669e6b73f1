// One program run per file: Pulumi's runtime is global, vitest isolates files.
import { beforeAll, describe, it } from "vitest";
import { runStack, type StackRun } from "./testing/runStack.ts";
import { assertScalesOut } from "./testing/scaleAssertions.ts";
import { assertServes } from "./testing/servingAssertions.ts";
import { assertStackInvariants } from "./testing/stackAssertions.ts";
import { readStackFile } from "./testing/stackFiles.ts";
import { asKubernetes } from "./testing/variants.ts";

const edit = (v: Record<string, unknown>): Record<string, unknown> => asKubernetes(v);
let run: StackRun;
beforeAll(async () => {
  run = await runStack("dev", edit);
});

describe("Pulumi.dev.yaml (asKubernetes) under mocks", () => {
  it("meets the stack invariants and passes the policy pack", () => {
    assertStackInvariants(run, edit(readStackFile("dev").values));
  });

  it("would serve: engines run once, write where they can, rendezvous privately, keep ops and engines private", () => {
    assertServes(run, edit(readStackFile("dev").values));
  });

  it("keeps keys and usage in its database and scales the gateway out (issue 11)", () => {
    assertScalesOut(run, edit(readStackFile("dev").values));
  });
});
