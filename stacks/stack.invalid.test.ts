import { expect, it } from "vitest";
import { runStackExpectingError } from "./testing/runStack.ts";

// The program validates config before registering anything; each rule's message is covered in config.test.ts.
it("an invalid stack config fails before any resource is created", async () => {
  const { error, registered } = await runStackExpectingError("staging", (v) => ({
    ...v,
    "gonka:models": [
      {
        preset: "kimi-k2.5-q2",
        layout: { id: "l40sx4", gpuType: "L40S", gpusPerNode: 4, tensorParallel: 4 },
      },
    ],
  }));
  expect(error.message).toMatch(/weights need 350 GiB but 1×4×L40S hold 172 GiB usable/);
  expect(registered).toBe(0);
});
