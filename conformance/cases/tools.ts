/** Tool calling: tool_choice modes, parallel calls, streaming reassembly, long arguments, K2.5 ids. */
import type OpenAI from "openai";
import {
  type ChoiceView,
  ConformanceFailure,
  checkKimiToolCallId,
  checkNoMarkersInContent,
  checkSpec,
  checkStreamFraming,
  checkToolArgsIntact,
  checkToolArgsJson,
  checkToolCallsPresent,
  jsonBody,
  viewOf,
} from "../lib/checks.ts";
import { assembleStream, readSse } from "../lib/sse.ts";
import type { SuiteContext } from "../lib/suite.ts";
import { assert, type Case, kimiFor, modelFor, saveNoteTool, timeTool, weatherTool } from "./types.ts";

type Body = Record<string, unknown>;

/** One chat request, non-streamed, as a ChoiceView (spec-checked). */
export async function chatView(s: SuiteContext, body: Body, timeoutMs?: number): Promise<ChoiceView> {
  const res = await s.raw("/v1/chat/completions", { body: { ...body, stream: false }, timeoutMs });
  const json = (await jsonBody(res)) as { choices: Parameters<typeof viewOf>[0][] };
  assert(res.status === 200, `HTTP ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  checkSpec("CreateChatCompletionResponse", json, "chat completion");
  assert(json.choices.length > 0, "no choices");
  return viewOf(json.choices[0]!);
}

/** One chat request, streamed, framing-checked and folded into a ChoiceView. */
export async function streamView(s: SuiteContext, body: Body, timeoutMs?: number): Promise<ChoiceView> {
  const res = await s.raw("/v1/chat/completions", { body: { ...body, stream: true }, timeoutMs });
  if (res.status !== 200)
    throw new ConformanceFailure(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const read = await readSse(res);
  checkStreamFraming(read, { includeUsage: false });
  const [choice] = assembleStream(read.chunks);
  assert(choice, "the stream carried no choice");
  return choice;
}

const weatherAsk = (city = "Paris") => [
  { role: "user", content: `Use get_weather to tell me the weather in "${city}".` },
];

/** The 16 KB argument case: the simulator copies the longest quoted string, a real model is asked to. */
export function longArgument(bytes = 16 * 1024): { text: string; body: Body } {
  const unit = "The quick brown fox jumps over the lazy dog 0123456789. ";
  const text = unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
  return {
    text,
    body: {
      messages: [
        {
          role: "user",
          content: `Call save_note with text set to exactly this string, copied verbatim: "${text}"`,
        },
      ],
      tools: [saveNoteTool],
      tool_choice: { type: "function", function: { name: "save_note" } },
      max_tokens: 16_384,
    },
  };
}

/**
 * 16 KB of text is 3–4k tokens for K2.5 (and for the reference engine's tokenizer): one stream at
 * 30–60 tokens/s on a GPU, or the reference vLLM on two CPU cores, needs well over the default 30 s.
 */
const LONG_ARGUMENT_TIMEOUT_MS = 150_000;

export const longArgumentCases: Case[] = [
  {
    name: "a 16 KB tool argument survives intact (non-streaming)",
    timeoutMs: LONG_ARGUMENT_TIMEOUT_MS,
    async run(s, skip) {
      const model = modelFor(s, "tools", skip);
      const { text, body } = longArgument();
      // The request may take the case's whole budget (the raw default of 60 s would cut it).
      checkToolArgsIntact(
        await chatView(s, { ...body, model }, LONG_ARGUMENT_TIMEOUT_MS),
        "save_note",
        "text",
        text,
      );
    },
  },
  {
    name: "a 16 KB tool argument survives intact (streaming)",
    timeoutMs: LONG_ARGUMENT_TIMEOUT_MS,
    async run(s, skip) {
      const model = modelFor(s, "tools", skip);
      const { text, body } = longArgument();
      checkToolArgsIntact(
        await streamView(s, { ...body, model }, LONG_ARGUMENT_TIMEOUT_MS),
        "save_note",
        "text",
        text,
      );
    },
  },
];

/** Per tools model: a tool-calling reply, streamed and not, carries calls and no template markers. */
export function toolCasesFor(model: string): Case[] {
  return [
    {
      name: `tool_choice auto: the named tool is called, no markers in content (non-streaming) [${model}]`,
      async run(s) {
        const view = await chatView(s, { model, messages: weatherAsk(), tools: [weatherTool] });
        checkToolCallsPresent(view);
        checkToolArgsJson(view);
        assert(
          view.toolCalls[0]!.function.name === "get_weather",
          `called ${view.toolCalls[0]!.function.name}`,
        );
      },
    },
    {
      name: `streamed tool-call deltas reassemble into calls with valid JSON arguments [${model}]`,
      async run(s) {
        const view = await streamView(s, { model, messages: weatherAsk(), tools: [weatherTool] });
        checkToolCallsPresent(view, "streamed reply");
        checkToolArgsJson(view, "streamed reply");
      },
    },
  ];
}

export const toolChoiceCases: Case[] = [
  {
    name: "tool_choice required forces a tool call",
    async run(s, skip) {
      const model = modelFor(s, "tools", skip);
      const view = await chatView(s, {
        model,
        messages: [{ role: "user", content: "Hello there." }],
        tools: [weatherTool],
        tool_choice: "required",
      });
      checkToolCallsPresent(view);
      checkToolArgsJson(view);
    },
  },
  {
    name: "tool_choice naming a function calls exactly that function",
    async run(s, skip) {
      const model = modelFor(s, "tools", skip);
      const view = await chatView(s, {
        model,
        messages: weatherAsk("Oslo"),
        tools: [weatherTool, timeTool],
        tool_choice: { type: "function", function: { name: "get_time" } },
      });
      checkToolCallsPresent(view, "reply", "stop");
      const names = view.toolCalls.map((t) => t.function.name);
      assert(names.length > 0 && names.every((n) => n === "get_time"), `called ${names.join(", ")}`);
    },
  },
  {
    name: "tool_choice none answers in text without tool calls",
    async run(s, skip) {
      const model = modelFor(s, "tools", skip);
      const view = await chatView(s, {
        model,
        messages: weatherAsk(),
        tools: [weatherTool],
        tool_choice: "none",
      });
      assert(view.toolCalls.length === 0, `tool_choice none still called ${view.toolCalls.length} tool(s)`);
      assert(view.content.length > 0, "no text content");
      checkNoMarkersInContent(view.content);
      assert(
        view.finishReason === "stop" || view.finishReason === "length",
        `finish_reason ${view.finishReason}`,
      );
    },
  },
  {
    name: "parallel tool calls: both requested tools come back in one reply with distinct ids",
    async run(s, skip) {
      const model = modelFor(s, "tools", skip);
      const view = await chatView(s, {
        model,
        messages: [
          {
            role: "user",
            content: 'Call get_weather and get_time, both for "Tokyo", in parallel in one turn.',
          },
        ],
        tools: [weatherTool, timeTool],
      });
      checkToolCallsPresent(view);
      checkToolArgsJson(view);
      const names = new Set(view.toolCalls.map((t) => t.function.name));
      assert(names.has("get_weather") && names.has("get_time"), `called ${[...names].join(", ")}`);
      const ids = new Set(view.toolCalls.map((t) => t.id));
      assert(ids.size === view.toolCalls.length, "parallel tool calls share an id");
    },
  },
  {
    name: "parallel_tool_calls false yields at most one tool call",
    async run(s, skip) {
      const model = modelFor(s, "tools", skip);
      const view = await chatView(s, {
        model,
        messages: [{ role: "user", content: 'Call get_weather and get_time for "Tokyo".' }],
        tools: [weatherTool, timeTool],
        parallel_tool_calls: false,
      });
      checkToolCallsPresent(view);
      assert(view.toolCalls.length === 1, `parallel_tool_calls false gave ${view.toolCalls.length} calls`);
    },
  },
  {
    name: "a tool result in the follow-up turn is answered in text (openai client round trip)",
    async run(s, skip) {
      const model = modelFor(s, "tools", skip);
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
        { role: "user", content: 'Use get_weather for "Lima".' },
      ];
      const first = await s.client.chat.completions.create({ model, messages, tools: [weatherTool] });
      const call = first.choices[0]?.message.tool_calls?.[0];
      assert(call && call.type === "function", "the first turn made no function call");
      messages.push(first.choices[0]!.message as OpenAI.Chat.ChatCompletionMessageParam);
      messages.push({
        role: "tool",
        tool_call_id: call.id,
        content: '{"temperature_c": 19, "sky": "clear"}',
      });
      const second = await s.client.chat.completions.create({ model, messages, tools: [weatherTool] });
      const msg = second.choices[0]?.message;
      assert(msg?.content, "the follow-up turn has no text answer");
      checkNoMarkersInContent(msg.content);
    },
  },
];

export const kimiToolIdCase: Case = {
  name: "K2.5 tool-call ids (functions.<name>:<index>) are echoed back unchanged and keep counting",
  async run(s, skip) {
    const model = kimiFor(s, skip);
    const messages: Body[] = [{ role: "user", content: 'Use get_weather for "Rome".' }];
    const first = await chatView(s, { model, messages, tools: [weatherTool] });
    checkToolCallsPresent(first);
    const id0 = first.toolCalls[0]!.id;
    checkKimiToolCallId(id0, "get_weather");
    messages.push({ role: "assistant", content: null, tool_calls: first.toolCalls });
    messages.push({ role: "tool", tool_call_id: id0, content: '{"sky":"sunny"}' });
    const answer = await chatView(s, { model, messages, tools: [weatherTool] });
    assert(answer.content.length > 0, "no text answer after the tool result");
    messages.push({ role: "assistant", content: answer.content });
    messages.push({ role: "user", content: 'And use get_weather for "Milan".' });
    const next = await chatView(s, { model, messages, tools: [weatherTool] });
    checkToolCallsPresent(next);
    const id1 = next.toolCalls[0]!.id;
    checkKimiToolCallId(id1, "get_weather");
    const index = (id: string) => Number(id.slice(id.lastIndexOf(":") + 1));
    assert(index(id1) > index(id0), `the second call's index (${id1}) does not follow the first (${id0})`);
  },
};

/** The known vLLM K2.5 bug: under concurrency the streaming parser drops tool calls. */
export const concurrentStreamingToolCallsCase: Case = {
  name: "K2.5: 16 concurrent streaming tool-call requests all return non-empty tool_calls",
  timeoutMs: 60_000,
  async run(s, skip) {
    const model = kimiFor(s, skip);
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        streamView(s, { model, messages: weatherAsk(`City ${i}`), tools: [weatherTool] }).then((view) => {
          checkToolCallsPresent(view, `request ${i}`);
          checkToolArgsJson(view, `request ${i}`);
        }),
      ),
    );
    const failed = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
    assert(
      failed.length === 0,
      `${failed.length}/16 concurrent streams failed: ${failed.slice(0, 3).join(" | ")}`,
    );
  },
};
