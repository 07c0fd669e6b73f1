// One program run per file: Pulumi's runtime is global, vitest isolates files.
import { beforeAll, describe, it } from "vitest";
import { withExternalDatabase } from "./testing/databaseVariants.ts";
import { runStack, type StackRun } from "./testing/runStack.ts";
import { assertScalesOut } from "./testing/scaleAssertions.ts";
import { assertStackInvariants } from "./testing/stackAssertions.ts";
import { readStackFile } from "./testing/stackFiles.ts";

const edit = (v: Record<string, unknown>): Record<string, unknown> => withExternalDatabase(v);
let run: StackRun;
beforeAll(async () => {
  run = await runStack("dev", edit);
});

describe("Pulumi.dev.yaml (withExternalDatabase) under mocks", () => {
  it("meets the stack invariants (no URL in clear anywhere) and passes the policy pack", () => {
    assertStackInvariants(run, edit(readStackFile("dev").values));
  });

  it("hands the external URL to the gateway container inside its secret environment, no postgres container", () => {
    assertScalesOut(run, edit(readStackFile("dev").values));
  });
});
