/**
 * A case is a named async check against a SuiteContext. The suite registers each
 * as a vitest test; the meta-test calls the same `run` against faulty backends and
 * expects it to throw.
 */
import type { APIError } from "openai";
import { ConformanceFailure } from "../lib/checks.ts";
import type { Capability, SuiteContext } from "../lib/suite.ts";

/** Ends the case as skipped, printing the reason (never silent). */
export type Skip = (reason: string) => never;

export interface Case {
  /** Says what passing proves. */
  readonly name: string;
  readonly timeoutMs?: number;
  run(s: SuiteContext, skip: Skip): Promise<void>;
}

/** A group of cases, e.g. one per model. */
export interface CaseGroup {
  readonly name: string;
  readonly cases: readonly Case[];
}

/** The first model with `cap` (K2.5 first), or a skip naming what the target lacks. */
export function modelFor(s: SuiteContext, cap: Capability, skip: Skip): string {
  const id = s.modelsWith(cap)[0];
  if (!id) return skip(`the target lists no model with the "${cap}" capability`);
  return id;
}

/** The K2.5 model when the target serves it. */
export function kimiFor(s: SuiteContext, skip: Skip): string {
  const id = s.models.find((m) => m.id === "kimi-k2.5")?.id;
  if (!id) return skip("the target does not serve kimi-k2.5");
  return id;
}

/**
 * The promise rejects with the openai client's typed error class for `status`.
 * Returns the error for further checks.
 */
export async function expectClientError<T extends APIError>(
  promise: Promise<unknown>,
  cls: abstract new (...args: never[]) => T,
  status: number,
): Promise<T> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof cls)) {
      throw new ConformanceFailure(
        `the openai client raised ${(err as Error)?.constructor?.name ?? typeof err} (${(err as Error).message}), expected ${cls.name}`,
      );
    }
    if (err.status !== status)
      throw new ConformanceFailure(`${cls.name} carries status ${err.status}, not ${status}`);
    return err;
  }
  throw new ConformanceFailure(`the request succeeded; expected ${cls.name} (HTTP ${status})`);
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

/** Switches thinking off for the model families the catalog serves (Kimi, DeepSeek: `thinking`; Qwen3: `enable_thinking`). */
export const THINKING_OFF = { chat_template_kwargs: { thinking: false, enable_thinking: false } };
export const THINKING_ON = { chat_template_kwargs: { thinking: true, enable_thinking: true } };

export const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather for a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "City name" } },
      required: ["city"],
    },
  },
};

export const timeTool = {
  type: "function" as const,
  function: {
    name: "get_time",
    description: "Current local time in a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};

export const saveNoteTool = {
  type: "function" as const,
  function: {
    name: "save_note",
    description: "Stores a note verbatim.",
    parameters: {
      type: "object",
      properties: { text: { type: "string", description: "The exact text to store" } },
      required: ["text"],
    },
  },
};
