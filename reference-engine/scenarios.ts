/**
 * Scripted conversations for the differential test. Each says what the model "answers"; the
 * simulator gets it as a script rule, real vLLM as the K2.5-format text its forcing logits
 * processor makes the tiny model emit (`vllm_xargs.gonka_script`), so both engines produce the
 * same reply through their own serving code and the framing can be compared.
 */
import type { Script } from "../sim/script.ts";

export interface Reply {
  reasoning?: string;
  content?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
}

export interface Scenario {
  name: string;
  /** Request body without `model`/`stream` (added per run) and without the script argument. */
  body: Record<string, unknown>;
  reply?: Reply;
  /** Run non-streamed, streamed, or both. */
  streams: readonly boolean[];
  /** Overrides the model name sent (default the served name). */
  model?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Sends this raw text with this content type instead of the JSON body. */
  raw?: { text: string; contentType: string };
}

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};
const timeTool = {
  type: "function",
  function: {
    name: "get_time",
    description: "Current time in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

const user = (tag: string, text: string) => [{ role: "user", content: `[${tag}] ${text}` }];
const both = [false, true] as const;
// Reasoning long enough to span many engine steps: under load vLLM hands several tokens to the
// serving layer at once, and a reply whose whole reasoning arrives together with `</think>` and
// the first content streams no reasoning delta at all (timing, not framing).
const THINK =
  "The user asks about the weather in a city, so I will call the weather tool with that city now.";
const SHORT_THINK = "A short and friendly greeting is enough here, nothing else is needed for this user.";
const LONG = "the quick brown fox jumps over the lazy dog ".repeat(12).trim();

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "plain",
    body: { messages: user("plain", "Say hello.") },
    reply: { reasoning: SHORT_THINK, content: "Hello there, how can I help you today?" },
    streams: both,
  },
  {
    name: "thinking-off",
    body: { messages: user("thinking-off", "Say hello."), chat_template_kwargs: { thinking: false } },
    reply: { content: "Hello there, how can I help you today?" },
    streams: both,
  },
  {
    // K2.5's template and vLLM 0.20.2's kimi_k2 parser read `thinking` only: the model still thinks.
    name: "enable-thinking-false",
    body: {
      messages: user("enable-thinking-false", "Say hello."),
      chat_template_kwargs: { enable_thinking: false },
    },
    reply: { reasoning: SHORT_THINK, content: "Hello there." },
    streams: both,
  },
  {
    name: "stop-string",
    body: { messages: user("stop-string", "Count."), stop: ["four"] },
    reply: { reasoning: SHORT_THINK, content: "one two three four five six" },
    streams: both,
  },
  {
    name: "tools-auto",
    body: { messages: user("tools-auto", "Weather in Paris?"), tools: [weatherTool] },
    reply: { reasoning: THINK, toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] },
    streams: both,
  },
  {
    name: "tools-auto-text",
    body: { messages: user("tools-auto-text", "Just say hi."), tools: [weatherTool] },
    reply: { reasoning: SHORT_THINK, content: "Hi there!" },
    streams: both,
  },
  {
    name: "tools-parallel",
    body: { messages: user("tools-parallel", "Weather and time in Paris?"), tools: [weatherTool, timeTool] },
    reply: {
      reasoning: THINK,
      toolCalls: [
        { name: "get_weather", arguments: { city: "Paris" } },
        { name: "get_time", arguments: { city: "Paris" } },
      ],
    },
    streams: both,
  },
  {
    name: "tools-named",
    body: {
      messages: user("tools-named", "Weather in Paris?"),
      tools: [weatherTool, timeTool],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    },
    reply: { reasoning: THINK, toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] },
    streams: both,
  },
  {
    name: "tools-required",
    body: {
      messages: user("tools-required", "Weather in Paris?"),
      tools: [weatherTool],
      tool_choice: "required",
    },
    reply: { reasoning: THINK, toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] },
    streams: both,
  },
  {
    name: "tools-length-cut",
    body: {
      messages: user("tools-length-cut", "Weather?"),
      tools: [weatherTool],
      chat_template_kwargs: { thinking: false },
      max_tokens: 12,
    },
    reply: { toolCalls: [{ name: "get_weather", arguments: { city: LONG } }] },
    streams: both,
  },
  {
    name: "content-length-cut",
    body: {
      messages: user("content-length-cut", "Talk."),
      chat_template_kwargs: { thinking: false },
      max_tokens: 5,
    },
    reply: { content: LONG },
    streams: both,
  },
  {
    name: "usage-include",
    body: { messages: user("usage-include", "Hi."), stream_options: { include_usage: true } },
    reply: { reasoning: SHORT_THINK, content: "Hi." },
    streams: [true],
  },
  {
    name: "usage-empty-options",
    body: { messages: user("usage-empty-options", "Hi."), stream_options: {} },
    reply: { reasoning: SHORT_THINK, content: "Hi." },
    streams: [true],
  },
  {
    name: "usage-off",
    body: { messages: user("usage-off", "Hi."), stream_options: { include_usage: false } },
    reply: { reasoning: SHORT_THINK, content: "Hi." },
    streams: [true],
  },
  {
    name: "include-reasoning-false",
    body: { messages: user("include-reasoning-false", "Hi."), include_reasoning: false },
    reply: { reasoning: SHORT_THINK, content: "Hi there." },
    streams: both,
  },
  {
    // vLLM names the completion after the caller's X-Request-Id.
    name: "request-id",
    body: { messages: user("request-id", "Hi.") },
    headers: { "x-request-id": "gonka-diff-0123abcd0123abcd" },
    reply: { reasoning: SHORT_THINK, content: "Hi." },
    streams: both,
  },
  {
    name: "n-2",
    body: { messages: user("n-2", "Hi."), n: 2, temperature: 0.7 },
    reply: { reasoning: SHORT_THINK, content: "Hi." },
    streams: both,
  },
  // Errors: no reply is generated.
  { name: "error-alias-model", body: { messages: user("e", "Hi.") }, model: "kimi", streams: [false] },
  { name: "error-unknown-model", body: { messages: user("e", "Hi.") }, model: "nope", streams: [false] },
  { name: "error-no-messages", body: {}, streams: [false] },
  { name: "error-empty-tools", body: { messages: user("e", "Hi."), tools: [] }, streams: [false] },
  {
    name: "error-tool-choice-without-tools",
    body: { messages: user("e", "Hi."), tool_choice: "required" },
    streams: [false],
  },
  {
    name: "error-named-tool-unknown",
    body: {
      messages: user("e", "Hi."),
      tools: [weatherTool],
      tool_choice: { type: "function", function: { name: "nope" } },
    },
    streams: [false],
  },
  { name: "error-n-greedy", body: { messages: user("e", "Hi."), n: 2, temperature: 0 }, streams: [false] },
  {
    name: "error-max-tokens-too-large",
    body: { messages: user("e", "Hi."), max_tokens: 300_000 },
    streams: [false],
  },
  {
    name: "error-negative-temperature",
    body: { messages: user("e", "Hi."), temperature: -1 },
    streams: [false],
  },
  {
    name: "error-invalid-json",
    body: {},
    raw: { text: "{not json", contentType: "application/json" },
    streams: [false],
  },
  {
    name: "error-text-content-type",
    body: {},
    raw: { text: JSON.stringify({ messages: user("e", "Hi.") }), contentType: "text/plain" },
    streams: [false],
  },
];

function thinkingOn(s: Scenario): boolean {
  const kw = s.body["chat_template_kwargs"] as { thinking?: boolean } | undefined;
  return kw?.thinking !== false;
}

/** The raw text K2.5 would generate for this reply (after the template's `<think>` when thinking). */
export function kimiText(s: Scenario): string {
  const reply = s.reply ?? {};
  const thinking = thinkingOn(s) ? `${reply.reasoning ?? ""}</think>` : "";
  const calls = reply.toolCalls ?? [];
  const choice = s.body["tool_choice"];
  // Named and required tool choice go through vLLM's structured output, not the tool parser:
  // the model writes the arguments JSON (named) or a JSON list of {name, parameters} (required).
  if (choice && typeof choice === "object") return thinking + JSON.stringify(calls[0]?.arguments ?? {});
  if (choice === "required") {
    return thinking + JSON.stringify(calls.map((c) => ({ name: c.name, parameters: c.arguments })));
  }
  if (calls.length === 0) return thinking + (reply.content ?? "");
  const section = calls
    .map(
      (c, i) =>
        `<|tool_call_begin|>functions.${c.name}:${i}<|tool_call_argument_begin|>${JSON.stringify(c.arguments)}<|tool_call_end|>`,
    )
    .join("");
  return `${thinking}${reply.content ?? ""}<|tool_calls_section_begin|>${section}<|tool_calls_section_end|>`;
}

/** One simulator script rule per scenario, matched by the scenario's tag in the user message. */
export function simScript(): Script {
  return {
    rules: SCENARIOS.filter((s) => s.reply).map((s) => ({
      name: s.name,
      match: { lastUserContains: `[${s.name}]` },
      reply: {
        ...(s.reply!.reasoning !== undefined ? { reasoning: s.reply!.reasoning } : {}),
        content: s.reply!.content ?? "",
        ...(s.reply!.toolCalls ? { toolCalls: s.reply!.toolCalls } : {}),
      },
    })),
  };
}
