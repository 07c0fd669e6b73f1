import { crewaiScenarios } from "./crewai/scenario.ts";
import { langgraphScenarios } from "./langgraph/scenario.ts";
import type { Scenario } from "./lib/types.ts";
import { openclawScenario } from "./openclaw/scenario.ts";
import { vercelScenarios } from "./vercel-ai/scenario.ts";

/** Every scenario `npm run scenarios` runs, in order. */
export const SCENARIOS: readonly Scenario[] = [
  ...langgraphScenarios,
  ...vercelScenarios,
  ...crewaiScenarios,
  openclawScenario,
];

export function findScenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`no scenario "${name}"; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  return found;
}
