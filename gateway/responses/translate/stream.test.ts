import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChatToResponseStream, toResponse } from "./index.ts";
import { eventOrderProblems } from "./spec/eventOrder.ts";
import { eventViolations, responseViolations } from "./spec/validate.ts";

type Json = Record<string, unknown>;

interface Completion {
  reasoning: string;
  content: string;
  calls: { id: string; name: string; args: string }[];
  finish: "stop" | "length" | "tool_calls";
  field: "reasoning" | "reasoning_content";
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

const CTX = {
  id: "resp_test1",
  createdAt: 1_764_000_000,
  body: {
    model: "kimi-k2.5-q2",
    tools: [{ type: "function", name: "get_weather", parameters: { type: "object" } }],
  },
};

const completion: fc.Arbitrary<Completion> = fc.record({
  reasoning: fc.string({ maxLength: 40 }),
  content: fc.string({ maxLength: 40 }),
  calls: fc.array(
    fc.record({
      id: fc.constantFrom("functions.get_weather:0", "chatcmpl-tool-1", "call_x", ""),
      name: fc.constantFrom("get_weather", "search"),
      args: fc.json({ maxDepth: 2 }),
    }),
    { maxLength: 3 },
  ),
  finish: fc.constantFrom("stop", "length", "tool_calls"),
  field: fc.constantFrom("reasoning", "reasoning_content"),
  usage: fc
    .record({ prompt_tokens: fc.nat(5000), completion_tokens: fc.nat(5000) })
    .map((u) => ({ ...u, total_tokens: u.prompt_tokens + u.completion_tokens })),
});

/** The non-streamed chat.completion for a completion, llama-server's shape. */
function chatJson(c: Completion): Json {
  const message: Json = { role: "assistant", content: c.content || null };
  if (c.reasoning) message[c.field] = c.reasoning;
  if (c.calls.length) {
    message["tool_calls"] = c.calls.map((k) => ({
      ...(k.id ? { id: k.id } : {}),
      type: "function",
      function: { name: k.name, arguments: k.args },
    }));
  }
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "kimi-k2.5-q2",
    choices: [{ index: 0, finish_reason: c.finish, message }],
    usage: c.usage,
  };
}

/** Splits `text` at the given cut points (any, including inside a surrogate-free code unit run). */
function pieces(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((n) => n % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const cut of [...at, text.length]) {
    if (cut > prev) out.push(text.slice(prev, cut));
    prev = Math.max(prev, cut);
  }
  return out;
}

/** The chunk sequence an engine could stream for `c`, cut at `cuts`; consecutive deltas merged where `merge` says. */
function chunks(c: Completion, cuts: number[], merge: boolean[]): Json[] {
  const deltas: Json[] = [{ role: "assistant", content: null }];
  for (const p of pieces(c.reasoning, cuts)) deltas.push({ [c.field]: p });
  for (const p of pieces(c.content, cuts)) deltas.push({ content: p });
  c.calls.forEach((k, index) => {
    deltas.push({
      tool_calls: [
        { index, ...(k.id ? { id: k.id } : {}), type: "function", function: { name: k.name, arguments: "" } },
      ],
    });
    for (const p of pieces(k.args, cuts))
      deltas.push({ tool_calls: [{ index, function: { arguments: p } }] });
  });
  // Merge a delta into the previous one when they carry different fields (an engine may batch tokens).
  const merged: Json[] = [];
  deltas.forEach((d, i) => {
    const prev = merged.at(-1);
    if (prev && merge[i % merge.length] && Object.keys(d).every((k) => !(k in prev))) Object.assign(prev, d);
    else merged.push({ ...d });
  });
  const out: Json[] = merged.map((delta) => ({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    model: "kimi-k2.5-q2",
    choices: [{ index: 0, delta, finish_reason: null }],
  }));
  out.push({
    object: "chat.completion.chunk",
    model: "kimi-k2.5-q2",
    choices: [{ index: 0, delta: {}, finish_reason: c.finish }],
  });
  out.push({ object: "chat.completion.chunk", model: "kimi-k2.5-q2", choices: [], usage: c.usage });
  return out;
}

function run(list: Json[]): { events: Json[]; stream: ChatToResponseStream } {
  const stream = new ChatToResponseStream(CTX);
  const events: Json[] = [];
  for (const chunk of list) events.push(...stream.push(chunk));
  events.push(...stream.end());
  return { events, stream };
}

function withoutClock(r: Json | null): Json {
  const { completed_at: _, ...rest } = r ?? {};
  return rest;
}

describe("ChatToResponseStream", () => {
  it("gives the same Response as the non-streamed path for any split of any completion", () => {
    fc.assert(
      fc.property(
        completion,
        fc.array(fc.nat(60), { maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        (c, cuts, merge) => {
          const { events, stream } = run(chunks(c, cuts, merge));
          const whole = toResponse(chatJson(c), CTX);
          expect(withoutClock(stream.response)).toEqual(withoutClock(whole));
          expect(eventOrderProblems(events)).toEqual([]);
          // The terminal event carries the same object the caller stores.
          expect(events.at(-1)!["response"]).toEqual(stream.response);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("emits only events and objects that OpenAI's schemas accept", () => {
    fc.assert(
      fc.property(completion, fc.array(fc.nat(60), { maxLength: 4 }), (c, cuts) => {
        const { events } = run(chunks(c, cuts, [false]));
        for (const e of events) expect(eventViolations(e)).toEqual([]);
        expect(responseViolations(toResponse(chatJson(c), CTX))).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it("emits OpenAI's event order for reasoning, text and a function call", () => {
    const c: Completion = {
      reasoning: "User wants weather.",
      content: "Let me check.",
      calls: [{ id: "functions.get_weather:0", name: "get_weather", args: '{"city":"Paris"}' }],
      finish: "tool_calls",
      field: "reasoning_content",
      usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
    };
    const { events, stream } = run(chunks(c, [5], [false]));
    expect(events.map((e) => e["type"])).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events[0]!["response"]).toMatchObject({ status: "in_progress", output: [] });
    expect(events[0]!["response"]).not.toHaveProperty("usage");
    expect(stream.response).toMatchObject({
      status: "completed",
      output: [
        { type: "reasoning", id: "rs_test1_0", content: [{ type: "reasoning_text", text: c.reasoning }] },
        { type: "message", id: "msg_test1_1", content: [{ type: "output_text", text: c.content }] },
        {
          type: "function_call",
          id: "fc_test1_2",
          call_id: "functions.get_weather:0",
          name: "get_weather",
          arguments: '{"city":"Paris"}',
          status: "completed",
        },
      ],
      usage: {
        input_tokens: 10,
        output_tokens: 20,
        total_tokens: 30,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it("ends a reply cut by max_output_tokens with response.incomplete and an incomplete last item", () => {
    const c: Completion = {
      reasoning: "",
      content: "The answer is",
      calls: [],
      finish: "length",
      field: "reasoning",
      usage: { prompt_tokens: 3, completion_tokens: 16, total_tokens: 19 },
    };
    const { events, stream } = run(chunks(c, [3], [false]));
    expect(events.at(-1)!["type"]).toBe("response.incomplete");
    expect(stream.response).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [{ type: "message", status: "incomplete" }],
    });
    expect(responseViolations(stream.response)).toEqual([]);
  });

  it("keeps parallel tool calls apart when their argument deltas interleave", () => {
    const s = new ChatToResponseStream(CTX);
    const push = (delta: Json, finish: string | null = null) =>
      s.push({ model: "m", choices: [{ index: 0, delta, finish_reason: finish }] });
    const events = [
      ...push({ tool_calls: [{ index: 0, id: "a", function: { name: "f", arguments: "" } }] }),
      ...push({ tool_calls: [{ index: 1, id: "b", function: { name: "g", arguments: '{"y"' } }] }),
      ...push({ tool_calls: [{ index: 0, function: { arguments: '{"x":1}' } }] }),
      ...push({ tool_calls: [{ index: 1, function: { arguments: ":2}" } }] }, "tool_calls"),
      ...s.end(),
    ];
    expect(eventOrderProblems(events)).toEqual([]);
    expect((s.response!["output"] as Json[]).map((o) => [o["call_id"], o["name"], o["arguments"]])).toEqual([
      ["a", "f", '{"x":1}'],
      ["b", "g", '{"y":2}'],
    ]);
  });

  it("ends with response.failed carrying the error when the engine fails mid-stream", () => {
    const s = new ChatToResponseStream(CTX);
    const events = [
      ...s.push({ model: "m", choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }] }),
      ...s.fail("The engine closed the stream."),
    ];
    expect(eventOrderProblems(events)).toEqual([]);
    for (const e of events) expect(eventViolations(e)).toEqual([]);
    expect(s.response).toMatchObject({
      status: "failed",
      error: { code: "server_error", message: "The engine closed the stream." },
      output: [{ type: "message", status: "incomplete", content: [{ text: "Hel" }] }],
    });
    expect(s.end()).toEqual([]);
  });

  it("still frames a complete stream when the engine sent nothing before ending", () => {
    const s = new ChatToResponseStream(CTX);
    const events = s.end();
    expect(events.map((e) => e["type"])).toEqual([
      "response.created",
      "response.in_progress",
      "response.completed",
    ]);
    expect(s.response).toMatchObject({ model: "kimi-k2.5-q2", output: [] });
    for (const e of events) expect(eventViolations(e)).toEqual([]);
  });

  it("can announce the response before the engine's first chunk, naming the model from the context", () => {
    const s = new ChatToResponseStream({ ...CTX, model: "kimi-k2.5" });
    const early = s.start();
    expect(early.map((e) => e["type"])).toEqual(["response.created", "response.in_progress"]);
    expect(s.start()).toEqual([]);
    const rest = [
      ...s.push({
        model: "/models/kimi.gguf",
        choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: "stop" }],
      }),
      ...s.end(),
    ];
    const events = [...early, ...rest];
    expect(eventOrderProblems(events)).toEqual([]);
    expect(events.filter((e) => "response" in e).map((e) => (e["response"] as Json)["model"])).toEqual([
      "kimi-k2.5",
      "kimi-k2.5",
      "kimi-k2.5",
    ]);
  });
});
