/**
 * Drives one scenario against one gateway: `vus` users, each sending its next request when
 * the previous one is answered (closed model, so concurrency is bounded by `vus`), over an
 * undici pool of as many connections, until the duration or the request budget runs out.
 * Records, per request, the status, latency, time to first content token (streams), and
 * whether an admitted response arrived whole.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createParser } from "eventsource-parser";
import { Pool } from "undici";
import type { Scenario } from "./scenario.ts";

export interface Sample {
  status: number;
  latencyMs: number;
  /** Streamed 200s: ms to the first chunk carrying content. */
  ttftMs?: number;
  /** A 200 that did not arrive whole (stream without `[DONE]`, body not JSON), or a transport error. */
  failed: boolean;
  /** 429s: the Retry-After header as sent. */
  retryAfter?: string | null;
  /** Error responses: the OpenAI-shaped `error.type`, if the body had one. */
  errorType?: string;
}

export interface LoadRun {
  readonly samples: Sample[];
  readonly startedAt: number;
  /** Resolves when every user has stopped. */
  readonly done: Promise<void>;
  /** Ends the run early (users finish their request in flight). */
  stop(): void;
}

export interface LoadOptions {
  baseUrl: string;
  apiKey: string;
  scenario: Scenario;
  /** Overrides the scenario's model. */
  model?: string;
}

export function startLoad(opts: LoadOptions): LoadRun {
  const { scenario } = opts;
  const url = new URL(opts.baseUrl);
  const basePath = url.pathname.replace(/\/+$/, "");
  const pool = new Pool(url.origin, { connections: scenario.vus, pipelining: 1 });
  const samples: Sample[] = [];
  const startedAt = performance.now();
  const deadline = startedAt + scenario.durationSeconds * 1_000;
  let issued = 0;
  let stopped = false;
  const runId = randomUUID().slice(0, 8);

  const more = () => !stopped && performance.now() < deadline && issued < (scenario.requests ?? Infinity);

  async function user(vu: number): Promise<void> {
    let conversation = 0;
    while (more()) {
      conversation += 1;
      const sessionId = scenario.sessions ? `load-${runId}-${vu}-${conversation}` : undefined;
      const messages: { role: string; content: string }[] = [
        { role: "system", content: `You are agent ${vu}.` },
        { role: "user", content: scenario.prompt },
      ];
      for (let turn = 0; turn < (scenario.sessions?.turns ?? 1) && more(); turn++) {
        issued += 1;
        const stream = scenario.stream === "mixed" ? issued % 2 === 0 : scenario.stream;
        const { sample, reply } = await send(messages, stream, sessionId);
        samples.push(sample);
        if (sample.status !== 200) break; // a refused turn ends the conversation
        messages.push(
          { role: "assistant", content: reply },
          { role: "user", content: `Continue (${turn + 1}).` },
        );
        // Never past the deadline: a user does not hold the run open just to pause.
        const pause = Math.min(scenario.thinkTimeMs, deadline - performance.now());
        if (pause > 0) await sleep(pause);
      }
    }
  }

  async function send(
    messages: { role: string; content: string }[],
    stream: boolean,
    sessionId: string | undefined,
  ): Promise<{ sample: Sample; reply: string }> {
    const t0 = performance.now();
    try {
      const res = await pool.request({
        method: "POST",
        path: `${basePath}/v1/chat/completions`,
        headers: {
          authorization: `Bearer ${opts.apiKey}`,
          "content-type": "application/json",
          ...(sessionId ? { "x-session-id": sessionId } : {}),
        },
        body: JSON.stringify({
          model: opts.model ?? scenario.model,
          messages,
          max_tokens: scenario.maxTokens,
          stream,
        }),
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        const retryAfter = res.headers["retry-after"];
        return {
          sample: {
            status: res.statusCode,
            latencyMs: performance.now() - t0,
            failed: res.statusCode !== 429,
            retryAfter: typeof retryAfter === "string" ? retryAfter : null,
            ...errorType(text),
          },
          reply: "",
        };
      }
      if (!stream) {
        const text = await res.body.text();
        const reply = completionText(text);
        return {
          sample: { status: 200, latencyMs: performance.now() - t0, failed: reply === undefined },
          reply: reply ?? "",
        };
      }
      let ttftMs: number | undefined;
      let finished = false;
      let reply = "";
      const parser = createParser({
        onEvent(event) {
          if (event.data === "[DONE]") {
            finished = true;
            return;
          }
          const delta = (JSON.parse(event.data) as { choices?: { delta?: Record<string, unknown> }[] })
            .choices?.[0]?.delta;
          const piece = delta?.["content"] ?? delta?.["reasoning_content"] ?? delta?.["reasoning"];
          if (typeof piece === "string" && piece.length > 0) {
            ttftMs ??= performance.now() - t0;
            reply += delta?.["content"] ?? "";
          }
        },
      });
      res.body.setEncoding("utf8");
      for await (const chunk of res.body) parser.feed(chunk as string);
      return {
        sample: {
          status: 200,
          latencyMs: performance.now() - t0,
          failed: !finished,
          ...(ttftMs === undefined ? {} : { ttftMs }),
        },
        reply,
      };
    } catch {
      return { sample: { status: 0, latencyMs: performance.now() - t0, failed: true }, reply: "" };
    }
  }

  const done = Promise.all(Array.from({ length: scenario.vus }, (_, vu) => user(vu))).then(() =>
    pool.close(),
  );
  return {
    samples,
    startedAt,
    done,
    stop() {
      stopped = true;
    },
  };
}

function completionText(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { choices?: { message?: { content?: string | null } }[] };
    if (!Array.isArray(body.choices)) return undefined;
    return body.choices[0]?.message?.content ?? "";
  } catch {
    return undefined;
  }
}

function errorType(text: string): { errorType?: string } {
  try {
    const type = (JSON.parse(text) as { error?: { type?: unknown } }).error?.type;
    return typeof type === "string" ? { errorType: type } : {};
  } catch {
    return {};
  }
}
