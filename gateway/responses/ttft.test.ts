/**
 * Time to first token on Responses streams. vLLM sends `response.created` and
 * `response.in_progress` before it awaits the engine's first output (the simulator does the
 * same): the client sees the response open at once, and the time to first token recorded in
 * the usage row runs to the first event after those two, not to the first byte. The llama.cpp
 * translation writes the same two events itself, once the engine has answered with its headers
 * (the simulator sends those with its first token): they must not count as the first token either.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_TIERS } from "../sessions/testClient.ts";
import { type SessionFixture, startSessionFixture } from "../sessions/testing.ts";
import { sessionUsageRow } from "./testing.ts";

const TTFT_MS = 600;

/** Streams one response, noting when each event arrived (ms after the request was sent). */
async function timedStream(fx: SessionFixture, model: string, secret: string) {
  const sent = performance.now();
  const res = await fetch(`${fx.url}/v1/responses`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model, stream: true, input: "Tell me a story" }),
  });
  expect(res.status).toBe(200);
  const arrivals: Array<{ type: string; atMs: number }> = [];
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of res.body!) {
    const atMs = performance.now() - sent;
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    const frames = buffered.split("\n\n");
    buffered = frames.pop()!;
    for (const frame of frames) {
      const type = /^event: (.+)$/m.exec(frame)?.[1];
      if (type) arrivals.push({ type, atMs });
    }
  }
  return { arrivals, sessionId: res.headers.get("x-session-id")! };
}

describe.each([
  { engine: "vLLM (passthrough)", model: "kimi-k2.5", opensEarly: true },
  { engine: "llama.cpp (translated)", model: "kimi-k2.5-q2", opensEarly: false },
])("Responses streams on $engine: time to first token", ({ model, opensEarly }) => {
  let fx: SessionFixture;
  let key: { secret: string };
  beforeAll(async () => {
    fx = await startSessionFixture({
      preset: model,
      simArgs: ["--ttft-ms", String(TTFT_MS)],
      config: (c) => ({ ...c, tiers: TEST_TIERS }),
    });
    key = await fx.newKey();
  }, 60_000);
  afterAll(() => fx?.close());

  it("meters the time to the first output event, not to the response's opening", async () => {
    const { arrivals, sessionId } = await timedStream(fx, model, key.secret);
    const at = (type: string) => arrivals.find((a) => a.type === type)?.atMs;
    const created = at("response.created")!;
    const firstOutput = arrivals.find((a) => !["response.created", "response.in_progress"].includes(a.type))!;
    expect(arrivals.at(-1)!.type).toBe("response.completed");
    // The opening events came well before the engine's first token (measured relative to each
    // other, so a slow machine shifts both).
    if (opensEarly) expect(firstOutput.atMs - created).toBeGreaterThan(TTFT_MS * 0.6);
    const row = await sessionUsageRow(fx, sessionId);
    expect(row?.requests).toBe(1);
    // Counted from the first byte it would be a few ms; from the first output event, the TTFT.
    expect(row!.ttftMs.p50).toBeGreaterThanOrEqual(TTFT_MS * 0.9);
    expect(row!.ttftMs.p50).toBeLessThanOrEqual(firstOutput.atMs + 50);
  });
});
