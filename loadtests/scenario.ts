/**
 * A load scenario: who sends what, for how long, and the thresholds the run must meet.
 * The same JSON files drive the Node runner (`npm run load`) and the k6 scripts
 * (`loadtests/k6/`), so a scenario means the same thing on a laptop and in nightly CI.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { ScenarioData } from "./scenarioData.ts";

export const SCENARIO_DIR = fileURLToPath(new URL("./scenarios/", import.meta.url));

const bound = z.object({ min: z.number().optional(), max: z.number().optional() }).strict();

export const scenarioSchema = z
  .object({
    description: z.string(),
    /** Model to call; `--model` overrides (the target may not deploy it). */
    model: z.string(),
    /** Virtual users: each sends its next request when the previous one is answered. */
    vus: z.number().int().positive(),
    /**
     * Pause of each user between requests, ms: keeps a run under the key's requests per
     * minute when the backend answers fast (simulators answer in about a millisecond).
     */
    thinkTimeMs: z.number().int().nonnegative(),
    /** Run length; the run also ends after `requests` requests when that is set. */
    durationSeconds: z.number().positive(),
    /** Total requests across all users (a burst); unbounded (duration only) when absent. */
    requests: z.number().int().positive().optional(),
    /** `mixed`: every other request is streamed. */
    stream: z.union([z.boolean(), z.literal("mixed")]),
    maxTokens: z.number().int().positive(),
    prompt: z.string(),
    /** Agent traffic: each user holds conversations of `turns` requests under one `X-Session-Id`. */
    sessions: z.object({ turns: z.number().int().positive() }).strict().optional(),
    /**
     * The tier of the key the run creates (needs an admin key); without an admin key the
     * given API key is used as is. Absent: the tier with the most requests per minute.
     */
    tier: z.string().optional(),
    thresholds: z
      .object({
        /** Share of requests that failed: transport errors, statuses other than 200 and 429, cut streams. */
        errorRate: bound,
        /** Whole-response latency of admitted (200) requests, ms. */
        p95LatencyMs: bound.optional(),
        /** Time to the first content token of streamed 200s, ms. */
        p95TtftMs: bound.optional(),
        /** Share of requests refused with 429. */
        share429: bound,
      })
      .strict(),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema> & { name: string };
export type Bound = z.infer<typeof bound>;

// Compile-time: the schema and the k6 scripts' ScenarioData describe the same files.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<z.infer<typeof scenarioSchema>, ScenarioData> = true;
void sameShape;

/** Loads `name` (a file in scenarios/, with or without `.json`) or a path to a scenario file. */
export function loadScenario(nameOrPath: string): Scenario {
  const file =
    nameOrPath.includes("/") || nameOrPath.endsWith(".json")
      ? resolve(nameOrPath)
      : resolve(SCENARIO_DIR, `${nameOrPath}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read scenario ${nameOrPath} (${file}): ${(err as Error).message}`);
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`scenario ${file}: ${z.prettifyError(parsed.error)}`);
  return { ...parsed.data, name: basename(file, ".json") };
}

export function scenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => basename(f, ".json"))
    .sort();
}
