/**
 * Opens `streams` SSE chat streams against a gateway, spread over `rampMs`, and reads each to
 * `data: [DONE]`, counting events without parsing them (the client must stay cheaper than what it
 * measures). Tracks how many streams are open at once (first byte seen, not yet ended), which is
 * the number the gateway holds.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";

export interface HoldProgress {
  started: number;
  open: number;
  maxOpen: number;
  finished: number;
  frames: number;
  errors: number;
  /** First few error descriptions, for the report. */
  errorSamples: string[];
}

export interface HoldOptions {
  url: string;
  apiKey: string;
  model: string;
  streams: number;
  maxTokens: number;
  rampMs: number;
}

export function holdStreams(opts: HoldOptions): { progress: HoldProgress; done: Promise<void> } {
  const progress: HoldProgress = {
    started: 0,
    open: 0,
    maxOpen: 0,
    finished: 0,
    frames: 0,
    errors: 0,
    errorSamples: [],
  };
  const pool = new Pool(opts.url, { connections: opts.streams, pipelining: 1, connectTimeout: 30_000 });
  const body = JSON.stringify({
    model: opts.model,
    stream: true,
    max_tokens: opts.maxTokens,
    messages: [{ role: "user", content: "Hold this stream open." }],
  });
  const fail = (why: string) => {
    progress.errors += 1;
    if (progress.errorSamples.length < 5) progress.errorSamples.push(why);
  };

  async function one(): Promise<void> {
    progress.started += 1;
    let opened = false;
    try {
      const res = await pool.request({
        method: "POST",
        path: "/v1/chat/completions",
        headers: { authorization: `Bearer ${opts.apiKey}`, "content-type": "application/json" },
        body,
        // Tokens are slow by design: only a stall far beyond the token interval is an error.
        bodyTimeout: 60_000,
        headersTimeout: 60_000,
      });
      if (res.statusCode !== 200) {
        fail(`status ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
        return;
      }
      opened = true;
      progress.open += 1;
      progress.maxOpen = Math.max(progress.maxOpen, progress.open);
      let tail = "";
      for await (const chunk of res.body) {
        const text = tail + (chunk as Buffer).toString("latin1");
        // Events end with a blank line; the carried tail catches one split across chunks.
        progress.frames += text.split("\n\n").length - 1 - (tail.split("\n\n").length - 1);
        tail = text.slice(-16);
      }
      if (!tail.trimEnd().endsWith("data: [DONE]")) fail("stream ended without data: [DONE]");
    } catch (err) {
      fail(`transport: ${(err as Error).message}`);
    } finally {
      if (opened) progress.open -= 1;
      progress.finished += 1;
    }
  }

  const done = (async () => {
    const all: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < opts.streams; i++) {
      const due = t0 + (i * opts.rampMs) / opts.streams;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      all.push(one());
    }
    await Promise.all(all);
    await pool.close();
  })();
  return { progress, done };
}
