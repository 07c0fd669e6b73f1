import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "./server.ts";
import { postJson, postSse, startSimulator } from "./testing.ts";

const tool = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const toolRequest = {
  model: "kimi-k2.5",
  messages: [{ role: "user", content: 'weather in "Amsterdam, the Netherlands" please' }],
  tools: [tool],
};
const chat = { model: "kimi-k2.5", messages: [{ role: "user", content: "hello" }] };

async function setFaults(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/sim/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Reads a stream that may be cut off; returns what arrived and whether it ended in an error. */
async function readUntilCut(url: string, body: unknown): Promise<{ text: string; cut: boolean }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, cut: false };
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    return { text, cut: true };
  }
}

describe("fault injection", () => {
  let sim: Simulator;
  let url: string;
  let chatUrl: string;
  beforeAll(async () => {
    ({ sim, url } = await startSimulator({ model: "kimi-k2.5" }));
    chatUrl = `${url}/v1/chat/completions`;
  });
  afterEach(() => sim.clearFaults());
  afterAll(() => sim.close());

  it("http_500 and http_503 return vLLM-shaped errors for the next N requests only", async () => {
    expect((await setFaults(url, [{ mode: "http_503", count: 2 }])).status).toBe(200);
    const first = await postJson(chatUrl, chat);
    expect(first.status).toBe(503);
    expect(first.json.error).toMatchObject({ code: 503, param: null });
    expect((await postJson(chatUrl, chat)).status).toBe(503);
    expect((await postJson(chatUrl, chat)).status).toBe(200);
    sim.setFaults([{ mode: "http_500", message: "boom" }]);
    const err = await postJson(chatUrl, chat);
    expect(err.status).toBe(500);
    expect(err.json.error).toEqual({ message: "boom", type: "InternalServerError", param: null, code: 500 });
  });

  it("limits faults to paths and applies probabilities from a seeded PRNG", async () => {
    sim.setFaults([{ mode: "http_500", paths: ["/v1/completions"] }]);
    expect((await postJson(chatUrl, chat)).status).toBe(200);
    expect((await postJson(`${url}/v1/completions`, { model: "kimi-k2.5", prompt: "x" })).status).toBe(500);
    const run = async () => {
      sim.setFaults({ faults: [{ mode: "http_500", probability: 0.5 }], seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await postJson(chatUrl, chat)).status);
      return statuses;
    };
    const a = await run();
    expect(a).toContain(500);
    expect(a).toContain(200);
    expect(await run()).toEqual(a);
  });

  it("stall delays the first byte", async () => {
    sim.setFaults([{ mode: "stall", ms: 300, count: 1 }]);
    const t0 = performance.now();
    const res = await fetch(chatUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chat),
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(res.status).toBe(200);
    await res.text();
  });

  it("slow_tokens spaces out streamed tokens", async () => {
    sim.setFaults([{ mode: "slow_tokens", ms: 10 }]);
    const t0 = performance.now();
    const s = await postSse(chatUrl, { ...chat, stream: true, max_tokens: 8 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(65);
    expect(s.frames.at(-1)).toBe("data: [DONE]");
  });

  it("drop_mid_stream cuts the connection after N frames, without [DONE]", async () => {
    sim.setFaults([{ mode: "drop_mid_stream", afterChunks: 3 }]);
    const { text, cut } = await readUntilCut(chatUrl, { ...chat, stream: true });
    expect(cut).toBe(true);
    expect(text).not.toContain("[DONE]");
    expect(text.split("\n\n").filter(Boolean)).toHaveLength(3);
    expect(sim.stats().dropped).toBeGreaterThanOrEqual(1);
  });

  it("leak_tool_markers puts K2.5's raw tool-call section in content", async () => {
    sim.setFaults([{ mode: "leak_tool_markers" }]);
    const res = await postJson(chatUrl, toolRequest);
    const msg = res.json.choices[0].message;
    expect(msg.tool_calls).toEqual([]);
    expect(msg.content).toContain(
      "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{",
    );
    expect(msg.content).toContain("<|tool_call_end|><|tool_calls_section_end|>");
  });

  it("truncate_tool_args cuts long arguments into invalid JSON", async () => {
    sim.setFaults([{ mode: "truncate_tool_args", maxChars: 12 }]);
    const res = await postJson(chatUrl, toolRequest);
    const args: string = res.json.choices[0].message.tool_calls[0].function.arguments;
    expect(args).toHaveLength(12);
    expect(() => JSON.parse(args)).toThrow();
  });

  it("think_in_content leaks reasoning and </think> into content", async () => {
    sim.setFaults([{ mode: "think_in_content" }]);
    const res = await postJson(chatUrl, chat);
    expect(res.json.choices[0].message.content).toContain("</think>");
    expect(res.json.choices[0].message.reasoning).toBeNull();
  });

  it("empty_stream_tool_calls ends with finish_reason tool_calls but no tool_calls deltas, optionally only under load", async () => {
    sim.setFaults([{ mode: "empty_stream_tool_calls" }]);
    const s = await postSse(chatUrl, { ...toolRequest, stream: true });
    expect(s.raw).not.toContain('"tool_calls":[');
    expect(s.raw).toContain('"finish_reason":"tool_calls"');
    sim.setFaults([{ mode: "empty_stream_tool_calls", minConcurrent: 4 }]);
    const alone = await postSse(chatUrl, { ...toolRequest, stream: true });
    expect(alone.raw).toContain('"tool_calls":[');
  });

  it("wrong_error_shape answers errors as {detail}", async () => {
    sim.setFaults([{ mode: "wrong_error_shape" }]);
    const res = await postJson(chatUrl, { ...chat, model: "unknown" });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ detail: "The model `unknown` does not exist." });
  });

  it("exposes the fault set over the admin API and rejects bad ones", async () => {
    await setFaults(url, [{ mode: "http_500", count: 3 }]);
    const listed = (await (await fetch(`${url}/sim/faults`)).json()) as { faults: unknown[] };
    expect(listed.faults).toEqual([{ mode: "http_500", count: 3, remaining: 3 }]);
    expect((await setFaults(url, [{ mode: "nope" }])).status).toBe(400);
    await fetch(`${url}/sim/faults`, { method: "DELETE" });
    expect(((await (await fetch(`${url}/sim/faults`)).json()) as { faults: unknown[] }).faults).toEqual([]);
  });

  it("POST /sim/health flips /health to 503 and back", async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    await fetch(`${url}/sim/health`, { method: "POST", body: JSON.stringify({ healthy: false }) });
    expect((await fetch(`${url}/health`)).status).toBe(503);
    await fetch(`${url}/sim/health`, { method: "POST", body: JSON.stringify({ healthy: true }) });
    const ok = await fetch(`${url}/health`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("");
  });
});

describe("error_mid_stream", () => {
  it("ends a started stream with vLLM's error event, then [DONE]", async () => {
    const { sim, url } = await startSimulator({ model: "kimi-k2.5" });
    try {
      sim.setFaults([{ mode: "error_mid_stream", afterChunks: 3 }]);
      const s = await postSse(`${url}/v1/chat/completions`, {
        model: "kimi-k2.5",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      });
      expect(s.status).toBe(200);
      expect(s.frames).toHaveLength(5);
      expect(s.events.at(-1)).toEqual({
        error: { message: "Internal server error", type: "InternalServerError", param: null, code: 500 },
      });
      expect(s.frames.at(-1)).toBe("data: [DONE]");
    } finally {
      await sim.close();
    }
  });
});
