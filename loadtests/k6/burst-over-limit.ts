/** k6 run loadtests/k6/burst-over-limit.ts: scenarios/burst-over-limit.json under k6 (see lib.ts for the target variables). */
import type { ScenarioData } from "../scenarioData.ts";
import { iterationFor, optionsFor, type SetupData, setupFor, summaryFor, teardownFor } from "./lib.ts";
import type { K6SummaryData } from "./summary.ts";

const scenario = JSON.parse(open("../scenarios/burst-over-limit.json")) as ScenarioData;
export const options = optionsFor(scenario);
export const setup = (): SetupData => setupFor(scenario, "burst-over-limit");
export const teardown = (data: SetupData): void => teardownFor(data);
export default (data: SetupData): void => iterationFor(scenario, data);
export const handleSummary = (data: K6SummaryData): Record<string, string> =>
  summaryFor("burst-over-limit", data);
