/**
 * Runs fuzzed requests against a gateway process and checks every answer (oracle.ts).
 * Shared by the bounded run in `npm test` (fuzz.test.ts) and the long `npm run fuzz`.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { problemWith } from "./oracle.ts";
import { exchange } from "./rawHttp.ts";
import { type FuzzContext, fuzzCases } from "./requests.ts";

export interface FuzzTarget {
  readonly apiUrl: string;
  readonly opsUrl: string;
}

export interface FuzzRun {
  readonly runs: number;
  readonly seed: number;
  /** Stop starting new requests after this long (the count actually run is returned). */
  readonly timeLimitMs?: number;
}

export async function runFuzz(target: FuzzTarget, ctx: FuzzContext, run: FuzzRun): Promise<number> {
  let count = 0;
  await fc.assert(
    fc.asyncProperty(fuzzCases(ctx), async ({ listener, req }) => {
      count++;
      const res = await exchange(listener === "api" ? target.apiUrl : target.opsUrl, req);
      const problem = problemWith(req, res);
      if (problem) {
        const shown = `${req.method} ${req.target.toString("latin1").slice(0, 120)}`;
        throw new Error(`${shown} (${listener} listener) → ${problem}`);
      }
    }),
    {
      numRuns: run.runs,
      seed: run.seed,
      endOnFailure: true,
      ...(run.timeLimitMs ? { interruptAfterTimeLimit: run.timeLimitMs, markInterruptAsFailure: false } : {}),
    },
  );
  return count;
}

/** Every model id and alias in a gateway config file. */
export function servedNames(configPath: string): Set<string> {
  const config = JSON.parse(readFileSync(configPath, "utf8")) as {
    models: { id: string; aliases?: string[] }[];
  };
  return new Set(config.models.flatMap((m) => [m.id, ...(m.aliases ?? [])]));
}
