/**
 * The assertions of the suite as plain functions: each throws a
 * ConformanceFailure saying what was wrong, or returns. The suite and the
 * meta-test (which proves these catch the known vLLM K2.5 faults) call the same
 * functions.
 */
import { type SpecSchema, specViolations } from "./spec.ts";
import type { AssembledChoice, SseRead } from "./sse.ts";

export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConformanceFailure";
  }
}

function fail(message: string): never {
  throw new ConformanceFailure(message);
}

function excerpt(s: string, max = 160): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

/** `value` conforms to OpenAI's schema `name` (after the documented vendor-null stripping). */
export function checkSpec(name: SpecSchema, value: unknown, what: string = name): void {
  const violations = specViolations(name, value);
  if (violations.length) fail(`${what} does not match OpenAI's ${name}: ${violations.join("; ")}`);
}

/** `{"error":{"message","type","param","code"}}` per OpenAI's ErrorResponse, with the expected status. */
export function checkErrorShape(status: number, body: unknown, expectedStatus?: number): void {
  if (expectedStatus !== undefined && status !== expectedStatus) {
    fail(`expected HTTP ${expectedStatus}, got ${status}: ${excerpt(JSON.stringify(body))}`);
  }
  if (!body || typeof body !== "object" || !("error" in body)) {
    fail(`error body has no "error" object (HTTP ${status}): ${excerpt(JSON.stringify(body))}`);
  }
  checkSpec("ErrorResponse", body, `HTTP ${status} error body`);
  const e = (body as { error: { message: string } }).error;
  if (!e.message.trim()) fail(`HTTP ${status} error body has an empty message`);
}

/** Reads a response body as JSON, failing with the raw text when it is not JSON. */
export async function jsonBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    fail(`HTTP ${res.status} body is not JSON: ${excerpt(text)}`);
  }
}

/** Template markers that must never reach a client: reasoning tags and Kimi's tool-call section tokens. */
export const LEAKED_MARKERS: readonly RegExp[] = [
  /<\/?think>/,
  /<\|tool_calls?_section_(begin|end)\|>/,
  /<\|tool_call_(begin|end|argument_begin)\|>/,
  /<\|tool_call/,
];

export function checkNoMarkersInContent(content: string | null | undefined, where = "content"): void {
  if (!content) return;
  for (const re of LEAKED_MARKERS) {
    const m = re.exec(content);
    if (m) fail(`${where} contains the template marker ${JSON.stringify(m[0])}: ${excerpt(content)}`);
  }
}

/** One choice in the shape both streamed and non-streamed replies are checked in. */
export type ChoiceView = Pick<
  AssembledChoice,
  "content" | "reasoning" | "reasoningContent" | "toolCalls" | "finishReason"
>;

interface ResponseChoice {
  finish_reason: string | null;
  message: {
    content?: string | null;
    reasoning?: string | null;
    reasoning_content?: string | null;
    tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }> | null;
  };
}

/** A non-streamed choice (from the openai client or raw JSON) as a ChoiceView. */
export function viewOf(choice: ResponseChoice): ChoiceView {
  const m = choice.message;
  return {
    content: m.content ?? "",
    reasoning: m.reasoning ?? "",
    reasoningContent: m.reasoning_content ?? "",
    toolCalls: (m.tool_calls ?? []).map((t) => ({ id: t.id, type: t.type, function: { ...t.function } })),
    finishReason: choice.finish_reason,
  };
}

/**
 * The reply called at least one tool, ended with `finishReason`, and leaked nothing into content.
 * `tool_calls` for `auto` and `required`; a named `tool_choice` ends with `stop` (OpenAI and vLLM
 * both: the call was forced, not chosen).
 */
export function checkToolCallsPresent(
  view: ChoiceView,
  where = "reply",
  finishReason: "tool_calls" | "stop" = "tool_calls",
): void {
  checkNoMarkersInContent(view.content, `${where} content`);
  if (view.toolCalls.length === 0) {
    fail(`${where} has no tool_calls (finish_reason ${view.finishReason}, content ${excerpt(view.content)})`);
  }
  if (view.finishReason !== finishReason) {
    fail(
      `${where} called tools but finish_reason is ${JSON.stringify(view.finishReason)}, not "${finishReason}"`,
    );
  }
  view.toolCalls.forEach((t, i) => {
    if (!t.id) fail(`${where} tool_calls[${i}] has no id`);
    if (!t.function.name) fail(`${where} tool_calls[${i}] has no function name`);
  });
}

/** Every tool call's arguments parse as a JSON object. Returns the parsed arguments. */
export function checkToolArgsJson(view: ChoiceView, where = "reply"): Record<string, unknown>[] {
  return view.toolCalls.map((t, i) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t.function.arguments);
    } catch (err) {
      fail(
        `${where} tool_calls[${i}] (${t.function.name}) arguments are not valid JSON ` +
          `(${t.function.arguments.length} chars, ${(err as Error).message}): ${excerpt(t.function.arguments)}`,
      );
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      fail(`${where} tool_calls[${i}] arguments are not a JSON object: ${excerpt(t.function.arguments)}`);
    }
    return parsed as Record<string, unknown>;
  });
}

/**
 * The call to `tool` carries `key` exactly equal to `expected` (a long argument survived intact).
 * The request names the tool in `tool_choice`, so the reply ends with `stop`.
 */
export function checkToolArgsIntact(view: ChoiceView, tool: string, key: string, expected: string): void {
  checkToolCallsPresent(view, "reply", "stop");
  const args = checkToolArgsJson(view);
  const i = view.toolCalls.findIndex((t) => t.function.name === tool);
  if (i < 0) fail(`no call to ${tool} among ${view.toolCalls.map((t) => t.function.name).join(", ")}`);
  const got = args[i]![key];
  if (typeof got !== "string") fail(`${tool}.${key} is ${typeof got}, not a string`);
  if (got !== expected) {
    fail(`${tool}.${key} changed: ${got.length} chars came back, ${expected.length} were sent`);
  }
}

/** Kimi K2.5 ids: `functions.<name>:<index>`. */
export function checkKimiToolCallId(id: string, name: string): void {
  if (!new RegExp(`^functions\\.${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+$`).test(id)) {
    fail(`tool-call id ${JSON.stringify(id)} is not of the K2.5 form functions.${name}:<index>`);
  }
}

/**
 * Thinking on: reasoning text in both `reasoning` and `reasoning_content` (equal),
 * none of it in `content`. Thinking off: neither field carries text.
 */
export function checkReasoningSeparated(view: ChoiceView, thinking: boolean, where = "reply"): void {
  checkNoMarkersInContent(view.content, `${where} content`);
  const r = view.reasoning ?? "";
  const rc = view.reasoningContent ?? "";
  if (!thinking) {
    if (r || rc) fail(`${where}: thinking is off but reasoning came back: ${excerpt(r || rc)}`);
    return;
  }
  if (!r) fail(`${where}: thinking is on but "reasoning" is empty`);
  if (!rc) fail(`${where}: thinking is on but "reasoning_content" is empty`);
  if (r !== rc) fail(`${where}: "reasoning" and "reasoning_content" differ: ${excerpt(r)} vs ${excerpt(rc)}`);
  if (view.content && r.trim().length >= 12 && view.content.includes(r.trim())) {
    fail(`${where}: the reasoning text also appears in content`);
  }
}

export interface StreamExpectations {
  /** The request set `stream_options.include_usage: true`. */
  includeUsage: boolean;
  /** Choices requested (`n`). */
  n?: number;
}

/**
 * SSE framing as OpenAI clients expect it: every frame a spec-valid chunk with
 * one id; each choice opens with a role chunk and finishes exactly once; a usage
 * chunk with empty `choices` comes last only when asked for; `[DONE]` ends it.
 */
export function checkStreamFraming(read: SseRead, expect: StreamExpectations): void {
  const { chunks } = read;
  if (!read.doneLast)
    fail(`stream did not end with data: [DONE] (last frame ${excerpt(read.frames.at(-1) ?? "")})`);
  if (read.frames.filter((f) => f === "[DONE]").length !== 1) fail("stream sent [DONE] more than once");
  if (chunks.length === 0) fail("stream carried no chunks");
  const ids = new Set(chunks.map((c) => c.id));
  if (ids.size !== 1) fail(`stream chunks carry ${ids.size} different ids`);
  chunks.forEach((c, i) => {
    if (c.object !== "chat.completion.chunk") fail(`chunk ${i} has object ${JSON.stringify(c.object)}`);
    checkSpec("CreateChatCompletionStreamResponse", c, `chunk ${i}`);
  });
  const usageChunks = chunks.filter((c) => c.usage);
  if (expect.includeUsage) {
    const last = chunks.at(-1)!;
    if (!last.usage) fail("include_usage was set but the last chunk carries no usage");
    if (last.choices.length !== 0) fail(`the usage chunk has ${last.choices.length} choices, expected none`);
    if (usageChunks.length !== 1) fail(`expected one usage chunk, got ${usageChunks.length}`);
    const u = last.usage;
    if (u.total_tokens !== u.prompt_tokens + u.completion_tokens) fail("usage total != prompt + completion");
  } else if (usageChunks.length) {
    fail("a usage chunk was sent although the client did not ask for one");
  }
  const n = expect.n ?? 1;
  for (let index = 0; index < n; index++) {
    const mine = chunks.filter((c) => c.choices.some((ch) => ch.index === index));
    if (mine.length === 0) fail(`choice ${index} never appears in the stream`);
    const first = mine[0]!.choices.find((ch) => ch.index === index)!;
    if (first.delta.role !== "assistant")
      fail(`choice ${index}: first chunk is not the assistant role chunk`);
    const finishes = mine.flatMap((c) => c.choices.filter((ch) => ch.index === index && ch.finish_reason));
    if (finishes.length !== 1) fail(`choice ${index}: finish_reason sent ${finishes.length} times`);
    const lastOwn = mine.at(-1)!.choices.find((ch) => ch.index === index)!;
    if (!lastOwn.finish_reason) fail(`choice ${index}: chunks follow the one carrying finish_reason`);
  }
}

/** A 429 tells the client when to come back and where it stands. */
export function checkRateLimitHeaders(headers: Headers): void {
  const retryAfter = headers.get("retry-after");
  if (!retryAfter || !(Number(retryAfter) >= 0 || !Number.isNaN(Date.parse(retryAfter)))) {
    fail(`429 without a valid Retry-After (got ${JSON.stringify(retryAfter)})`);
  }
  for (const name of [
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
  ]) {
    if (!headers.get(name)) fail(`429 without the ${name} header`);
  }
}

/** Every response carries a request id a client can quote to support. */
export function checkRequestId(headers: Headers): void {
  if (!headers.get("x-request-id")) fail("response has no x-request-id header");
}
