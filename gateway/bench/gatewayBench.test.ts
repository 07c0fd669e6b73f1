/**
 * `npm run bench:gateway` interrupted mid-run: everything it started (simulators, bare proxies,
 * the core gateway, both all-features gateways, Redis, Postgres) stops with it. The full run
 * takes minutes and is not part of the test suite; its measurements are in the README.
 */
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { interruptMidRun } from "../../bench/interruptRun.ts";

const MAIN = fileURLToPath(new URL("./gatewayBench.ts", import.meta.url));

it("stops every process it started on SIGTERM to it alone, and exits 143", async () => {
  const run = await interruptMidRun([MAIN, "--seconds", "0.3", "--rounds", "1"], { when: "measuring" });
  // Two simulators, two bare proxies, three gateways, Redis, Postgres.
  expect(run.started.length).toBeGreaterThanOrEqual(9);
  expect(run.code).toBe(143);
  expect(run.output).toContain("SIGTERM: stopping what this run started");
  expect(run.survivors).toEqual([]);
}, 90_000);
