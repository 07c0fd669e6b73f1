import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine, ModelPreset } from "../catalog/index.ts";
import type { ReasoningField } from "./chatRender.ts";
import type { FaultInjector } from "./faults.ts";
import type { SimMetrics } from "./metrics.ts";
import type { Scheduler } from "./scheduler.ts";
import type { CompiledScript } from "./script.ts";

export interface SimStats {
  received: number;
  completed: number;
  /** Requests whose client disconnected before the response finished. */
  cancelled: number;
  /** Streams the simulator cut on purpose (drop_mid_stream). */
  dropped: number;
  /** Requests answered with an error status. */
  failed: number;
  byPath: Record<string, number>;
}

export function emptyStats(): SimStats {
  return { received: 0, completed: 0, cancelled: 0, dropped: 0, failed: 0, byPath: {} };
}

/** Everything one simulator instance owns; routes receive it instead of reaching for globals. */
export interface SimState {
  readonly preset: ModelPreset;
  readonly engine: Engine;
  /** Names accepted in `model` (the preset id and its aliases). */
  readonly servedNames: ReadonlySet<string>;
  readonly reasoningField: ReasoningField;
  readonly ttftMs: number;
  readonly tpotMs: number;
  readonly scheduler: Scheduler;
  readonly faults: FaultInjector;
  readonly metrics: SimMetrics;
  /** Replaced at runtime by `POST /sim/script`. */
  script: CompiledScript | undefined;
  readonly kvCacheTokens: number;
  stats: SimStats;
  healthy: boolean;
  /** `performance.now()` when simulated model loading ends. */
  readyAt: number;
  /** Prompt plus completion tokens of admitted requests, for the KV-cache gauge. */
  activeTokens: number;
}

/** One HTTP request in flight. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  readonly signal: AbortSignal;
  readonly startedAt: number;
  /** Set when the simulator itself destroys the socket, so it is not counted as a client cancel. */
  droppedBySim: boolean;
}
