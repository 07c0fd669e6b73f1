import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario, SCENARIO_DIR, scenarioNames } from "./scenario.ts";
import { checkThresholds, percentile, summarise } from "./thresholds.ts";

describe("scenario files", () => {
  it("ships the four kinds of traffic, each valid with error-rate and 429 thresholds", () => {
    expect(scenarioNames()).toEqual([
      "agent-sessions",
      "burst-over-limit",
      "long-streams",
      "steady-chat",
      "steady-chat-stream",
    ]);
    for (const name of scenarioNames()) {
      const s = loadScenario(name);
      expect(s.thresholds.errorRate.max, name).toBeDefined();
      expect(s.thresholds.share429, name).toBeDefined();
    }
    expect(loadScenario("agent-sessions").sessions?.turns).toBeGreaterThan(1);
    expect(loadScenario("burst-over-limit").tier).toBe("free");
  });

  it("each scenario has a k6 script that opens that same file", () => {
    for (const name of scenarioNames()) {
      const script = readFileSync(join(SCENARIO_DIR, "..", "k6", `${name}.ts`), "utf8");
      expect(script, name).toContain(`open("../scenarios/${name}.json")`);
    }
  });

  it("refuses a scenario with an unknown field, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "gonka-load-"));
    const file = join(dir, "typo.json");
    const good = JSON.parse(readFileSync(join(SCENARIO_DIR, "steady-chat.json"), "utf8"));
    writeFileSync(file, JSON.stringify({ ...good, virtualUsers: 3 }));
    expect(() => loadScenario(file)).toThrow(/virtualUsers/);
    rmSync(dir, { recursive: true });
  });
});

describe("thresholds", () => {
  it("p95 is nearest-rank, as k6 reports it", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 95)).toBeUndefined();
  });

  it("a threshold on a metric never measured fails; a 429 without Retry-After counts as malformed", () => {
    const stats = summarise([
      { status: 200, latencyMs: 10, failed: false },
      { status: 429, latencyMs: 1, failed: false, retryAfter: null, errorType: "rate_limit_exceeded" },
    ]);
    const checks = checkThresholds(stats, {
      errorRate: { max: 0 },
      p95TtftMs: { max: 100 },
      share429: { max: 1 },
    });
    expect(checks.map((c) => [c.metric, c.pass])).toEqual([
      ["errorRate", true],
      ["p95TtftMs", false],
      ["share429", true],
      ["malformed429", false],
    ]);
  });
});
