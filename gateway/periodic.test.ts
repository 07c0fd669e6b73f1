/** The shared background-task runner of the sweepers, on real timers. */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { startPeriodic } from "./periodic.ts";

describe("startPeriodic", () => {
  it("runs one at a time: runOnce during a run joins it", async () => {
    let runs = 0;
    const p = startPeriodic(
      async () => {
        runs++;
        await sleep(50);
        return runs;
      },
      { intervalMs: 60_000, onError: () => {} },
    );
    const [a, b] = await Promise.all([p.runOnce(), p.runOnce()]);
    expect([a, b, runs]).toEqual([1, 1, 1]);
    expect(await p.runOnce()).toBe(2);
    await p.stop();
  });

  it("reports a failed run and runs again at the next tick; runAtStart runs at once", async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const p = startPeriodic(
      async () => {
        runs++;
        if (runs === 1) throw new Error("store down");
      },
      { intervalMs: 30, onError: (e) => errors.push(e), runAtStart: true },
    );
    await expect.poll(() => runs, { timeout: 2_000 }).toBeGreaterThanOrEqual(2);
    await p.stop();
    expect(errors.map((e) => (e as Error).message)).toEqual(["store down"]);
  });

  it("stop waits for the run in progress, which sees stopped() and ends early; no tick after", async () => {
    let batches = 0;
    const p = startPeriodic(
      async (stopped) => {
        while (!stopped()) {
          batches++;
          await sleep(10);
        }
      },
      { intervalMs: 20, onError: () => {} },
    );
    await expect.poll(() => batches).toBeGreaterThan(0);
    await p.stop();
    const after = batches;
    await sleep(80);
    expect(batches).toBe(after);
  });
});
