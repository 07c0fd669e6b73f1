/** k6 run loadtests/k6/long-streams.ts: scenarios/long-streams.json under k6 (see lib.ts for the target variables). */
import type { ScenarioData } from "../scenarioData.ts";
import { iterationFor, optionsFor, type SetupData, setupFor, summaryFor, teardownFor } from "./lib.ts";
import type { K6SummaryData } from "./summary.ts";

const scenario = JSON.parse(open("../scenarios/long-streams.json")) as ScenarioData;
export const options = optionsFor(scenario);
export const setup = (): SetupData => setupFor(scenario, "long-streams");
export const teardown = (data: SetupData): void => teardownFor(data);
export default (data: SetupData): void => iterationFor(scenario, data);
export const handleSummary = (data: K6SummaryData): Record<string, string> =>
  summaryFor("long-streams", data);
