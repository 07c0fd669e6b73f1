/**
 * `node scenarios/crewai/install.ts`: creates (or checks) the CrewAI virtualenv under the cache, as
 * the scenario does on first use; `.ci/run` calls it so a fresh machine pays the install once,
 * timed, before the tests.
 */
import { fileURLToPath } from "node:url";
import { ensureVenv } from "../lib/python.ts";

export const CREWAI_VENV = "crewai-1.15";
export const CREWAI_REQUIREMENTS = fileURLToPath(new URL("./requirements.txt", import.meta.url));

export function ensureCrewai(log?: (line: string) => void): Promise<string> {
  return ensureVenv(CREWAI_VENV, CREWAI_REQUIREMENTS, log);
}

if (import.meta.main) {
  const python = await ensureCrewai();
  console.log(`crewai: ${python}`);
}
