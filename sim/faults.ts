import { z } from "zod";
import { createRng, type Rng } from "./prng.ts";

/**
 * Fault injection. A fault set is an ordered list; every fault that applies to a
 * request (path, stream flag, count, probability) takes effect together, so a
 * stall can be combined with a dropped stream.
 */

export const FAULT_MODES = [
  "http_500",
  "http_503",
  "stall",
  "drop_mid_stream",
  "error_mid_stream",
  "slow_tokens",
  "leak_tool_markers",
  "truncate_tool_args",
  "think_in_content",
  "empty_stream_tool_calls",
  "wrong_error_shape",
] as const;

export const FaultSchema = z
  .object({
    mode: z.enum(FAULT_MODES),
    /** Only the next N matching requests. */
    count: z.number().int().positive().optional(),
    /** Chance per matching request, drawn from the simulator's seeded PRNG. */
    probability: z.number().min(0).max(1).optional(),
    /** Request paths the fault applies to; default: the inference endpoints. */
    paths: z.array(z.string()).optional(),
    /** Only streaming (true) or non-streaming (false) requests. */
    stream: z.boolean().optional(),
    /** stall: delay before the first byte; slow_tokens: extra delay per token. */
    ms: z.number().int().nonnegative().optional(),
    /** drop_mid_stream: SSE frames before the socket is destroyed; error_mid_stream: before the error event. */
    afterChunks: z.number().int().nonnegative().optional(),
    /** truncate_tool_args: arguments longer than this are cut. */
    maxChars: z.number().int().nonnegative().optional(),
    /** empty_stream_tool_calls: only when at least this many requests are in flight. */
    minConcurrent: z.number().int().positive().optional(),
    /** http_500 / http_503: error message. */
    message: z.string().optional(),
  })
  .strict();

export type Fault = z.infer<typeof FaultSchema>;

export const FaultSetSchema = z.union([
  z.array(FaultSchema),
  z.object({ faults: z.array(FaultSchema), seed: z.number().int().optional() }).strict(),
]);

export type FaultSetInput = z.infer<typeof FaultSetSchema>;

export function parseFaults(value: unknown): { faults: Fault[]; seed?: number } {
  const result = FaultSetSchema.safeParse(value);
  if (!result.success) throw new Error(`invalid fault set: ${z.prettifyError(result.error)}`);
  return Array.isArray(result.data) ? { faults: result.data } : result.data;
}

/** The faults in force for one request. */
export interface ActiveFaults {
  httpStatus?: 500 | 503;
  httpMessage?: string;
  stallMs: number;
  dropAfterChunks?: number;
  /** SSE frames sent before vLLM's mid-stream error event (`data: {"error":…}` then `[DONE]`). */
  errorAfterChunks?: number;
  slowMs: number;
  leakToolMarkers: boolean;
  truncateToolArgs?: number;
  thinkInContent: boolean;
  emptyStreamToolCalls: boolean;
  wrongErrorShape: boolean;
}

export const NO_FAULTS: Readonly<ActiveFaults> = Object.freeze({
  stallMs: 0,
  slowMs: 0,
  leakToolMarkers: false,
  thinkInContent: false,
  emptyStreamToolCalls: false,
  wrongErrorShape: false,
});

const DEFAULT_PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"];

interface Armed {
  fault: Fault;
  remaining: number | undefined;
}

export class FaultInjector {
  #armed: Armed[] = [];
  #rng: Rng;

  constructor(seed = 1) {
    this.#rng = createRng(seed);
  }

  set(faults: readonly Fault[], seed?: number): void {
    this.#armed = faults.map((fault) => ({ fault, remaining: fault.count }));
    if (seed !== undefined) this.#rng = createRng(seed);
  }

  clear(): void {
    this.#armed = [];
  }

  list(): { faults: (Fault & { remaining?: number })[] } {
    return {
      faults: this.#armed.map((a) =>
        a.remaining === undefined ? a.fault : { ...a.fault, remaining: a.remaining },
      ),
    };
  }

  select(path: string, stream: boolean, inFlight: number): Readonly<ActiveFaults> {
    if (this.#armed.length === 0) return NO_FAULTS;
    let active: ActiveFaults | undefined;
    for (const armed of this.#armed) {
      const f = armed.fault;
      if (armed.remaining === 0) continue;
      if (!(f.paths ?? DEFAULT_PATHS).includes(path)) continue;
      if (f.stream !== undefined && f.stream !== stream) continue;
      if (f.mode === "empty_stream_tool_calls" && inFlight < (f.minConcurrent ?? 1)) continue;
      if (f.probability !== undefined && this.#rng.next() >= f.probability) continue;
      if (armed.remaining !== undefined) armed.remaining--;
      active ??= { ...NO_FAULTS };
      apply(active, f);
    }
    return active ?? NO_FAULTS;
  }
}

function apply(active: ActiveFaults, f: Fault): void {
  switch (f.mode) {
    case "http_500":
    case "http_503":
      active.httpStatus = f.mode === "http_500" ? 500 : 503;
      if (f.message !== undefined) active.httpMessage = f.message;
      break;
    case "stall":
      active.stallMs += f.ms ?? 1000;
      break;
    case "drop_mid_stream":
      active.dropAfterChunks = f.afterChunks ?? 2;
      break;
    case "error_mid_stream":
      active.errorAfterChunks = f.afterChunks ?? 2;
      break;
    case "slow_tokens":
      active.slowMs += f.ms ?? 50;
      break;
    case "leak_tool_markers":
      active.leakToolMarkers = true;
      break;
    case "truncate_tool_args":
      active.truncateToolArgs = f.maxChars ?? 256;
      break;
    case "think_in_content":
      active.thinkInContent = true;
      break;
    case "empty_stream_tool_calls":
      active.emptyStreamToolCalls = true;
      break;
    case "wrong_error_shape":
      active.wrongErrorShape = true;
      break;
  }
}
