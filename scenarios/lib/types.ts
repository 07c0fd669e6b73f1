import type { Fault } from "../../sim/faults.ts";

/** What a scenario gets to do its task: an OpenAI-compatible endpoint (the recorder), a key, a folder. */
export interface ScenarioContext {
  /** `http://…/v1`: the recorder in front of the target's gateway. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly model: string;
  /** Sent as `X-Session-Id` on every model call, so the gateway can show the run later. */
  readonly sessionId: string;
  /** A fresh temporary folder for files the agent reads and writes; removed after the run. */
  readonly workdir: string;
  /** Aborted at the scenario's wall-clock limit. */
  readonly signal: AbortSignal;
  /** The gateway's origin (no `/v1`), for checks that read the gateway itself. */
  readonly gatewayUrl: string;
  /** Progress lines (printed by the runner, kept in the report). */
  log(line: string): void;
}

export interface Check {
  name: string;
  pass: boolean;
  /** What was expected and what was seen; the report's reason for a failure. */
  detail: string;
}

export interface Scenario {
  /** Unique, kebab-case: `langgraph-stream`. */
  readonly name: string;
  readonly framework: string;
  /** The task, in a sentence, for the report. */
  readonly task: string;
  /** Catalog model the scenario targets (its script is set on every replica of it, locally). */
  readonly model: string;
  /** Simulator script (YAML) that plays the model deterministically on the local stack. */
  readonly script: string;
  /** A fault that breaks agents: with it set the scenario must FAIL (proof that it checks outcomes). */
  readonly breakingFault: Fault[];
  readonly timeoutMs: number;
  /** One-time setup outside the wall-clock limit (a virtualenv install); progress through `log`. */
  prepare?(log: (line: string) => void): Promise<void>;
  /** Does the task and returns the outcome checks; throwing counts as a failed run with its message. */
  run(ctx: ScenarioContext): Promise<Check[]>;
}

/** `check(name, cond, detail)`: a one-liner for scenario outcome checks. */
export function check(name: string, pass: boolean, detail: string): Check {
  return { name, pass, detail };
}

/** Numbers agree to a cent: a model may write 113.4 or 113.40. */
export function near(a: unknown, b: number, tolerance = 0.011): boolean {
  const n = typeof a === "string" ? Number(a) : a;
  return typeof n === "number" && Number.isFinite(n) && Math.abs(n - b) <= tolerance;
}
