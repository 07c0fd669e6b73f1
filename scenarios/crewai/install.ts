/** The CrewAI virtualenv under the cache, created on first use (scenarios/install.ts does it ahead). */
import { fileURLToPath } from "node:url";
import { ensureVenv } from "../lib/python.ts";

export const CREWAI_VENV = "crewai-1.15";
export const CREWAI_REQUIREMENTS = fileURLToPath(new URL("./requirements.txt", import.meta.url));

export function ensureCrewai(log?: (line: string) => void): Promise<string> {
  return ensureVenv(CREWAI_VENV, CREWAI_REQUIREMENTS, log);
}
