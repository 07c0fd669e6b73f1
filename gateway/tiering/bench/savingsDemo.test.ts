import { describe, expect, it } from "vitest";
import { runSavingsDemo } from "./savingsDemo.ts";

// The README's worked example, small: the local stack's `auto` rules route the mix as the
// README says, and the report's totals add up.
describe("tiering worked example (npm run bench:tiering)", () => {
  it("routes each kind of request by its rule and saves against K2.5 for every request", async () => {
    const result = await runSavingsDemo(20);
    expect(result.byRoute).toEqual({
      "short-extraction": 9,
      tools: 4,
      reasoning: 3,
      default: 2,
      "economy-hint": 2,
    });
    const s = result.savings;
    expect(s.requests).toBe(20);
    expect(s.models.map((m) => [m.model, m.requests]).sort()).toEqual([
      ["kimi-k2.5", 9],
      ["qwen3-32b", 11],
    ]);
    expect(s.prompt_tokens).toBe(s.models.reduce((n, m) => n + m.prompt_tokens, 0));
    expect(s.saved_percent).toBeGreaterThan(0);
    expect(s.saved_cents).toBeCloseTo(s.baseline_cost_cents! - s.cost_cents!, 4);
  }, 60_000);
});
