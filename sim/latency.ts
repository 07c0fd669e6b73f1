import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Frame } from "./chatRender.ts";
import { SSE_HEADERS } from "./http.ts";

/** The simulated timing of one response. */
export interface Pacing {
  /** Delay before the first token (time to first token plus any stall fault). */
  firstTokenMs: number;
  /** Delay between tokens (time per output token plus any slow_tokens fault). */
  perTokenMs: number;
  /** drop_mid_stream: destroy the socket after this many frames. */
  dropAfterFrames: number | undefined;
}

export type WriteOutcome = "done" | "dropped";

export interface TimingSink {
  firstToken(seconds: number): void;
  /** Records `observations` inter-token gaps of `seconds` each. */
  interToken(seconds: number, observations: number): void;
}

function isInstant(p: Pacing): boolean {
  return p.firstTokenMs === 0 && p.perTokenMs === 0 && p.dropAfterFrames === undefined;
}

/**
 * Writes an SSE response. With zero latency every frame goes out in one write
 * (no timers on the hot path); otherwise frames carrying tokens are spaced by
 * `perTokenMs`. Rejects with the abort reason if the client goes away.
 */
export async function writeStream(
  res: ServerResponse,
  frames: readonly Frame[],
  pacing: Pacing,
  signal: AbortSignal,
  startedAt: number,
  timing: TimingSink,
): Promise<WriteOutcome> {
  const tokens = frames.reduce((n, f) => n + f.tokens, 0);
  if (isInstant(pacing)) {
    res.writeHead(200, SSE_HEADERS);
    let body = "";
    for (const f of frames) body += f.data;
    res.end(body);
    timing.firstToken((performance.now() - startedAt) / 1000);
    timing.interToken(0, tokens - 1);
    return "done";
  }
  // Frames an engine sends before it generates (vLLM's response.created and .in_progress) go
  // out at once, ahead of the time to first token; a drop fault keeps the old order.
  let start = 0;
  if (pacing.firstTokenMs > 0 && pacing.dropAfterFrames === undefined) {
    while (start < frames.length && frames[start]!.early) start++;
    if (start > 0) {
      res.writeHead(200, SSE_HEADERS);
      res.write(
        frames
          .slice(0, start)
          .map((f) => f.data)
          .join(""),
      );
    }
  }
  if (pacing.firstTokenMs > 0) await sleep(pacing.firstTokenMs, undefined, { signal });
  if (pacing.dropAfterFrames === 0) {
    res.destroy();
    return "dropped";
  }
  if (start === 0) res.writeHead(200, SSE_HEADERS);
  let sawToken = false;
  let last = performance.now();
  for (let i = start; i < frames.length; i++) {
    const frame = frames[i]!;
    if (frame.tokens > 0) {
      if (sawToken && pacing.perTokenMs > 0) await sleep(pacing.perTokenMs, undefined, { signal });
      const now = performance.now();
      if (sawToken) timing.interToken((now - last) / 1000, 1);
      else timing.firstToken((now - startedAt) / 1000);
      sawToken = true;
      last = now;
    }
    if (signal.aborted) throw signal.reason;
    if (pacing.dropAfterFrames !== undefined && i + 1 >= pacing.dropAfterFrames) {
      // Let the frames reach the client first; destroying at once would discard them.
      await new Promise<void>((resolve) => res.write(frame.data, () => resolve()));
      res.destroy();
      return "dropped";
    }
    res.write(frame.data);
  }
  res.end();
  return "done";
}

/** Writes a non-streaming response after the time the whole generation would take. */
export async function writeJsonAfter(
  res: ServerResponse,
  body: string,
  tokens: number,
  pacing: Pacing,
  signal: AbortSignal,
  startedAt: number,
  timing: TimingSink,
): Promise<WriteOutcome> {
  if (pacing.firstTokenMs > 0) await sleep(pacing.firstTokenMs, undefined, { signal });
  timing.firstToken((performance.now() - startedAt) / 1000);
  const rest = pacing.perTokenMs * Math.max(0, tokens - 1);
  if (rest > 0) await sleep(rest, undefined, { signal });
  timing.interToken(pacing.perTokenMs / 1000, tokens - 1);
  if (pacing.dropAfterFrames !== undefined) {
    res.destroy();
    return "dropped";
  }
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
  return "done";
}
