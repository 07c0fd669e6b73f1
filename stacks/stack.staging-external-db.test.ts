// One program run per file: Pulumi's runtime is global, vitest isolates files.
import { beforeAll, describe, expect, it } from "vitest";
import { withExternalDatabase } from "./testing/databaseVariants.ts";
import { runStack, type StackRun } from "./testing/runStack.ts";
import { assertScalesOut, CNPG_CLUSTER } from "./testing/scaleAssertions.ts";
import { assertStackInvariants } from "./testing/stackAssertions.ts";
import { readStackFile } from "./testing/stackFiles.ts";

const edit = (v: Record<string, unknown>): Record<string, unknown> => withExternalDatabase(v);
let run: StackRun;
beforeAll(async () => {
  run = await runStack("staging", edit);
});

describe("Pulumi.staging.yaml (withExternalDatabase) under mocks", () => {
  it("meets the stack invariants (no URL in clear anywhere) and passes the policy pack", () => {
    assertStackInvariants(run, edit(readStackFile("staging").values));
  });

  it("hands the external URL to every gateway replica from the gateway's Secret, and creates no cluster", () => {
    assertScalesOut(run, edit(readStackFile("staging").values));
    expect(run.resources.filter((r) => r.type === CNPG_CLUSTER)).toEqual([]);
    expect(
      run.resources.some(
        (r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.inputs["chart"] === "cloudnative-pg",
      ),
    ).toBe(false);
  });
});
