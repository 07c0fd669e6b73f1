import type { Frame } from "./chatRender.ts";
import type { ActiveFaults } from "./faults.ts";
import { type Pacing, type TimingSink, type WriteOutcome, writeJsonAfter, writeStream } from "./latency.ts";
import type { Exchange, SimState } from "./state.ts";

/** A rendered response waiting for a slot: either SSE frames or a JSON body. */
export type InferenceJob = {
  promptTokens: number;
  completionTokens: number;
  finishReason: string;
} & ({ stream: true; frames: Frame[] } | { stream: false; json: string });

/**
 * Admits a rendered response through the concurrency cap, plays it out with the
 * latency model and records metrics. Validation happened before, so a bad
 * request never takes a slot (vLLM rejects before scheduling too).
 */
export async function runInference(
  state: SimState,
  ex: Exchange,
  faults: Readonly<ActiveFaults>,
  job: InferenceJob,
): Promise<void> {
  const kvTokens = job.promptTokens + job.completionTokens;
  if (!state.scheduler.tryAcquire()) await state.scheduler.acquire(ex.signal);
  state.activeTokens += kvTokens;
  try {
    const pacing: Pacing = {
      firstTokenMs: state.ttftMs + faults.stallMs,
      perTokenMs: state.tpotMs + faults.slowMs,
      dropAfterFrames: faults.dropAfterChunks,
    };
    const timing: TimingSink = {
      firstToken: (s) => state.metrics.observeTtft(s),
      interToken: (s, n) => state.metrics.observeItl(s, n),
    };
    let outcome: WriteOutcome;
    if (job.stream) {
      outcome = await writeStream(ex.res, job.frames, pacing, ex.signal, ex.startedAt, timing);
    } else if (pacing.firstTokenMs === 0 && pacing.perTokenMs === 0 && pacing.dropAfterFrames === undefined) {
      ex.res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(job.json),
      });
      ex.res.end(job.json);
      timing.firstToken((performance.now() - ex.startedAt) / 1000);
      timing.interToken(0, job.completionTokens - 1);
      outcome = "done";
    } else {
      outcome = await writeJsonAfter(
        ex.res,
        job.json,
        job.completionTokens,
        pacing,
        ex.signal,
        ex.startedAt,
        timing,
      );
    }
    if (outcome === "dropped") {
      ex.droppedBySim = true;
      state.stats.dropped++;
    } else {
      state.stats.completed++;
      state.metrics.finished(job.promptTokens, job.completionTokens, job.finishReason);
    }
  } finally {
    state.activeTokens -= kvTokens;
    state.scheduler.release();
  }
}
