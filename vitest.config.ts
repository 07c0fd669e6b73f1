import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "{bench,catalog,harness,gateway,sim,stacks,conformance,loadtests,scenarios,scripts,usage,reference-engine}/**/*.test.ts",
    ],
    // Integration tests spawn real processes (simulators, gateways, redis-server);
    // two cores cannot run many such files at once without timeouts.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    typecheck: { enabled: false },
  },
});
