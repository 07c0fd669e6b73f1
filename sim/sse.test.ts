import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "./server.ts";
import { postJson, postSse, startSimulator } from "./testing.ts";

const messages = [{ role: "user", content: "Tell me about the plan" }];

describe("SSE framing and determinism", () => {
  let sim: Simulator;
  let chatUrl: string;
  beforeAll(async () => {
    const started = await startSimulator({ model: "kimi-k2.5" });
    sim = started.sim;
    chatUrl = `${started.url}/v1/chat/completions`;
  });
  afterAll(() => sim.close());

  it("frames every event as `data: <json>` + blank line, role first, [DONE] last", async () => {
    const res = await fetch(chatUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "kimi-k2.5", messages, stream: true }),
    });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const raw = await res.text();
    expect(raw.endsWith("data: [DONE]\n\n")).toBe(true);
    const frames = raw.split("\n\n").filter(Boolean);
    for (const f of frames) expect(f).toMatch(/^data: /);
    const first = JSON.parse(frames[0]!.slice(6));
    expect(first.object).toBe("chat.completion.chunk");
    expect(first.choices[0].delta).toEqual({ role: "assistant", content: "" });
    const last = JSON.parse(frames[frames.length - 2]!.slice(6));
    expect(last.choices[0].finish_reason).toBe("stop");
    expect(last.usage).toBeUndefined();
    // All chunks of one response share an id.
    expect(new Set(frames.slice(0, -1).map((f) => JSON.parse(f.slice(6)).id)).size).toBe(1);
  });

  it("sends a usage chunk with empty choices only when include_usage is set", async () => {
    const withUsage = await postSse(chatUrl, {
      model: "kimi-k2.5",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const usageEvents = withUsage.events.filter((e) => e["usage"]);
    expect(usageEvents).toHaveLength(1);
    expect(usageEvents[0]!["choices"]).toEqual([]);
    expect(withUsage.events.at(-1)).toBe(usageEvents[0]);
    const without = await postSse(chatUrl, {
      model: "kimi-k2.5",
      messages,
      stream: true,
      stream_options: { include_usage: false },
    });
    expect(without.events.filter((e) => e["usage"])).toHaveLength(0);
  });

  it("gives the same content and usage for the same request, streamed or not", async () => {
    const body = { model: "kimi-k2.5", messages, seed: 7 };
    const a = await postJson(chatUrl, body);
    const b = await postJson(chatUrl, body);
    expect(a.json.choices[0].message.content).toBe(b.json.choices[0].message.content);
    expect(a.json.usage).toEqual(b.json.usage);
    const s = await postSse(chatUrl, { ...body, stream: true, stream_options: { include_usage: true } });
    let content = "";
    let reasoning = "";
    for (const e of s.events) {
      const delta = (e["choices"] as { delta: Record<string, string> }[])[0]?.delta;
      content += delta?.["content"] ?? "";
      reasoning += delta?.["reasoning"] ?? "";
    }
    expect(content).toBe(a.json.choices[0].message.content);
    expect(reasoning).toBe(a.json.choices[0].message.reasoning);
    // vLLM's streamed usage has no prompt_tokens_details key; the non-streamed one has it as null.
    const { prompt_tokens_details: _details, ...streamedUsage } = a.json.usage;
    expect(s.events.at(-1)!["usage"]).toEqual(streamedUsage);
    const other = await postJson(chatUrl, { ...body, seed: 8 });
    expect(other.json.choices[0].message.content).not.toBe(a.json.choices[0].message.content);
  });

  it("honours max_tokens with finish_reason length, counting reasoning", async () => {
    const res = await postJson(chatUrl, { model: "kimi-k2.5", messages, max_tokens: 5 });
    expect(res.json.choices[0].finish_reason).toBe("length");
    expect(res.json.usage.completion_tokens).toBe(5);
    const off = await postJson(chatUrl, {
      model: "kimi-k2.5",
      messages,
      max_completion_tokens: 3,
      chat_template_kwargs: { thinking: false },
    });
    expect(off.json.choices[0].finish_reason).toBe("length");
    expect(off.json.choices[0].message.content.length).toBeGreaterThan(0);
  });

  it("stops before a stop string and reports it in stop_reason", async () => {
    const body = { model: "kimi-k2.5", messages, chat_template_kwargs: { thinking: false } };
    const full: string = (await postJson(chatUrl, body)).json.choices[0].message.content;
    const word = full.split(" ")[3]!;
    const res = await postJson(chatUrl, { ...body, stop: ["zzz-never", word] });
    const choice = res.json.choices[0];
    expect(choice.finish_reason).toBe("stop");
    expect(choice.stop_reason).toBe(word);
    expect(full.startsWith(choice.message.content)).toBe(true);
    expect(choice.message.content).not.toContain(word);
  });

  it("returns n choices, each different", async () => {
    const res = await postJson(chatUrl, { model: "kimi-k2.5", messages, n: 3, temperature: 0.7 });
    expect(res.json.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2]);
    expect(
      new Set(res.json.choices.map((c: { message: { content: string } }) => c.message.content)).size,
    ).toBe(3);
    const s = await postSse(chatUrl, { model: "kimi-k2.5", messages, n: 2, stream: true });
    const finals = s.events.filter(
      (e) => (e["choices"] as { finish_reason: string | null }[])[0]?.finish_reason,
    );
    expect(finals.map((e) => (e["choices"] as { index: number }[])[0]!.index).sort()).toEqual([0, 1]);
  });

  it("answers bad input with vLLM's 400 error body", async () => {
    const res = await fetch(chatUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: Record<string, unknown> };
    // vLLM 0.20.2 types request-validation errors "Bad Request" (its other 400s "BadRequestError").
    expect(body.error).toMatchObject({ type: "Bad Request", code: 400, param: null });
    expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
    const missing = await postJson(chatUrl, { model: "kimi-k2.5" });
    expect(missing.status).toBe(400);
    const tooLong = await postJson(chatUrl, { model: "kimi-k2.5", messages, max_tokens: 300_000 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.error.message).toContain("maximum context length is 262144 tokens");
  });

  it("streams tool calls as vLLM does: a header delta without arguments, then argument pieces", async () => {
    const s = await postSse(chatUrl, {
      model: "kimi-k2.5",
      messages: [{ role: "user", content: 'lookup "Berlin"' }],
      chat_template_kwargs: { thinking: false },
      tools: [
        {
          type: "function",
          function: {
            name: "lookup",
            parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
          },
        },
      ],
      stream: true,
    });
    const toolDeltas = s.events
      .map((e) => (e["choices"] as { delta: { tool_calls?: unknown[] } }[])[0]?.delta?.tool_calls?.[0])
      .filter(Boolean) as {
      index: number;
      id?: string;
      type?: string;
      function: { name?: string; arguments: string };
    }[];
    // Measured on vLLM 0.20.2 with the kimi_k2 parser: the head carries no `arguments` key.
    expect(toolDeltas[0]).toEqual({
      index: 0,
      id: "functions.lookup:0",
      type: "function",
      function: { name: "lookup" },
    });
    const args = toolDeltas
      .slice(1)
      .map((d) => d.function.arguments)
      .join("");
    expect(JSON.parse(args)).toEqual({ q: "Berlin" });
    expect(toolDeltas.slice(1).every((d) => d.id === undefined)).toBe(true);
    const final = s.events.at(-1)!["choices"] as { finish_reason: string }[];
    expect(final[0]!.finish_reason).toBe("tool_calls");
  });
});
