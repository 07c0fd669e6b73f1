import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { monitorEventLoop } from "./eventLoopDelay.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function blockLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe("monitorEventLoop", () => {
  it("sees a stall at once, and forgets it after two windows", async () => {
    const monitor = monitorEventLoop(new Registry(), { windowMs: 300 });
    try {
      await sleep(50);
      blockLoop(120);
      await sleep(20);
      expect(monitor.percentileMs(100)).toBeGreaterThanOrEqual(100);
      // Still visible just after the next rotation (the older histogram covers it)…
      await sleep(300);
      expect(monitor.percentileMs(100)).toBeGreaterThanOrEqual(100);
      // …gone once both histograms were reset after it.
      await sleep(400);
      expect(monitor.percentileMs(100)).toBeLessThan(100);
    } finally {
      monitor.stop();
    }
  });
});
