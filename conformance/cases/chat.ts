/** Chat completions: shape, streaming framing, and the sampling parameters clients rely on. */
import { Ajv2020 } from "ajv/dist/2020.js";
import { checkNoMarkersInContent, checkSpec, checkStreamFraming, jsonBody, viewOf } from "../lib/checks.ts";
import { assembleStream, readSse } from "../lib/sse.ts";
import type { SuiteContext } from "../lib/suite.ts";
import { assert, type Case, modelFor, THINKING_OFF } from "./types.ts";

const hello = [{ role: "user" as const, content: "Say hello in one short sentence." }];

/** Posts a chat request as raw JSON and returns the parsed body after checking status and schema. */
async function rawChat(s: SuiteContext, body: Record<string, unknown>) {
  const res = await s.raw("/v1/chat/completions", { body });
  const json = (await jsonBody(res)) as { choices: Parameters<typeof viewOf>[0][]; usage: Usage };
  assert(res.status === 200, `HTTP ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  checkSpec("CreateChatCompletionResponse", json, "chat completion");
  return json;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

function checkUsage(u: Usage | undefined): void {
  assert(u, "the response carries no usage");
  assert(u.prompt_tokens > 0, "usage.prompt_tokens is 0");
  assert(
    u.total_tokens === u.prompt_tokens + u.completion_tokens,
    "usage.total_tokens != prompt + completion",
  );
}

/** Cases run once per chat model: the basics every backend must get right. */
export function chatCasesFor(model: string): Case[] {
  return [
    {
      name: `non-streaming chat completion matches OpenAI's schema [${model}]`,
      async run(s) {
        const body = await rawChat(s, { model, messages: hello, max_tokens: 256 });
        assert(body.choices.length === 1, `expected 1 choice, got ${body.choices.length}`);
        const view = viewOf(body.choices[0]!);
        assert(
          view.finishReason === "stop" || view.finishReason === "length",
          `finish_reason ${view.finishReason}`,
        );
        checkNoMarkersInContent(view.content);
        checkUsage(body.usage);
        const viaClient = await s.client.chat.completions.create({ model, messages: hello, max_tokens: 256 });
        assert(
          viaClient.choices[0]?.message.role === "assistant",
          "the openai client saw no assistant message",
        );
      },
    },
    {
      name: `streamed chat completion: role chunk first, deltas, one finish_reason, [DONE], no usage unless asked [${model}]`,
      async run(s) {
        const res = await s.raw("/v1/chat/completions", {
          body: { model, messages: hello, max_tokens: 256, stream: true },
        });
        assert(res.status === 200, `HTTP ${res.status}`);
        assert(
          res.headers.get("content-type")?.startsWith("text/event-stream"),
          `content-type ${res.headers.get("content-type")}`,
        );
        const read = await readSse(res);
        checkStreamFraming(read, { includeUsage: false });
        const [choice] = assembleStream(read.chunks);
        assert(choice && (choice.content || choice.reasoning), "the stream carried no text");
        checkNoMarkersInContent(choice.content);
      },
    },
  ];
}

export const chatCases: Case[] = [
  {
    name: "stream_options.include_usage adds exactly one final usage chunk with empty choices",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      const res = await s.raw("/v1/chat/completions", {
        body: { model, messages: hello, stream: true, stream_options: { include_usage: true } },
      });
      assert(res.status === 200, `HTTP ${res.status}`);
      const read = await readSse(res);
      checkStreamFraming(read, { includeUsage: true });
    },
  },
  {
    name: "the openai client consumes the stream and sees the same framing",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      const stream = await s.client.chat.completions.create({
        model,
        messages: hello,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let finish: string | null = null;
      let usage = 0;
      for await (const chunk of stream) {
        for (const c of chunk.choices) {
          text += c.delta.content ?? "";
          finish = c.finish_reason ?? finish;
        }
        if (chunk.usage) usage = chunk.usage.completion_tokens;
      }
      assert(text.length > 0, "no content reached the client");
      assert(finish === "stop" || finish === "length", `finish_reason ${finish}`);
      assert(usage > 0, "the client saw no usage chunk");
    },
  },
  {
    name: 'max_tokens cuts the reply short with finish_reason "length"',
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      const r = await s.client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Write a long story about a lighthouse keeper." }],
        max_tokens: 4,
      });
      assert(r.choices[0]?.finish_reason === "length", `finish_reason ${r.choices[0]?.finish_reason}`);
      assert((r.usage?.completion_tokens ?? 99) <= 4, `completion_tokens ${r.usage?.completion_tokens} > 4`);
    },
  },
  {
    name: "stop ends the content before the stop sequence",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      const base = {
        model,
        messages: [{ role: "user" as const, content: "Describe the sea in two sentences." }],
        temperature: 0,
        seed: 7,
        max_tokens: 200,
        ...THINKING_OFF,
      };
      const first = await s.client.chat.completions.create(base);
      const words = (first.choices[0]?.message.content ?? "")
        .split(/\s+/)
        .filter((w) => /^[A-Za-z]{3,}$/.test(w));
      if (words.length < 4)
        return skip("the unconstrained reply has too few words to pick a stop sequence from");
      const stop = words[Math.floor(words.length / 2)]!;
      const cut = await s.client.chat.completions.create({ ...base, stop: [stop] });
      const content = cut.choices[0]?.message.content ?? "";
      assert(!content.includes(stop), `content still contains the stop sequence ${JSON.stringify(stop)}`);
      assert(cut.choices[0]?.finish_reason === "stop", `finish_reason ${cut.choices[0]?.finish_reason}`);
    },
  },
  {
    name: "n returns that many choices, indexed 0..n-1",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      const body = await rawChat(s, { model, messages: hello, n: 3, max_tokens: 64 });
      const indexes = body.choices.map((c) => (c as unknown as { index: number }).index).sort();
      assert(JSON.stringify(indexes) === "[0,1,2]", `choice indexes ${JSON.stringify(indexes)}`);
    },
  },
  {
    name: "response_format json_object yields content that parses as a JSON object",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      const r = await s.client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Return a JSON object describing a cat." }],
        response_format: { type: "json_object" },
        ...THINKING_OFF,
      });
      const parsed = parseJson(r.choices[0]?.message.content);
      assert(parsed && typeof parsed === "object" && !Array.isArray(parsed), "content is not a JSON object");
    },
  },
  {
    name: "response_format json_schema yields JSON valid against the schema",
    async run(s, skip) {
      const model = modelFor(s, "chat", skip);
      const schema = {
        type: "object",
        properties: {
          name: { type: "string" },
          age: { type: "integer", minimum: 0 },
          tags: { type: "array", items: { type: "string" } },
        },
        required: ["name", "age", "tags"],
        additionalProperties: false,
      };
      const r = await s.client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Invent a person." }],
        response_format: { type: "json_schema", json_schema: { name: "person", schema, strict: true } },
        ...THINKING_OFF,
      });
      const parsed = parseJson(r.choices[0]?.message.content);
      const validate = new Ajv2020({ strict: false }).compile(schema);
      assert(validate(parsed), `output violates the schema: ${JSON.stringify(validate.errors)}`);
    },
  },
];

function parseJson(content: string | null | undefined): unknown {
  assert(content, "the reply has no content");
  try {
    return JSON.parse(content);
  } catch {
    throw new Error(`content is not JSON: ${content.slice(0, 200)}`);
  }
}
