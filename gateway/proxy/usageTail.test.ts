import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { usageFromTail } from "./usageTail.ts";

// Text a model may write: anything, and in particular what looks like a usage object.
const sneaky = fc.oneof(
  fc.string(),
  fc.constant('"usage":{"prompt_tokens":999999,"completion_tokens":1}'),
  fc.constant('{"usage": {"prompt_tokens": 7}}'),
  fc.constant('\\"usage\\":{'),
  fc.constant('} ] { [ \\ "'),
);

const usage = fc.oneof(
  fc.constant(null),
  fc.record({
    prompt_tokens: fc.nat(),
    completion_tokens: fc.nat(),
    total_tokens: fc.nat(),
    prompt_tokens_details: fc.oneof(fc.constant(null), fc.record({ cached_tokens: fc.nat() })),
  }),
  // Embeddings answers count prompt tokens only.
  fc.record({ prompt_tokens: fc.nat(), total_tokens: fc.nat() }),
);

// A chat completion as vLLM orders it: usage after choices, a few fields after usage.
const answer = fc.record({
  id: fc.string(),
  object: fc.constant("chat.completion"),
  model: fc.string(),
  choices: fc.array(
    fc.record({
      index: fc.nat(),
      message: fc.record({
        role: fc.constant("assistant"),
        content: sneaky,
        tool_calls: fc.array(
          fc.record({
            id: fc.string(),
            type: fc.constant("function"),
            // Arguments are a JSON string: whatever the model wrote, usage keys included.
            function: fc.record({ name: fc.string(), arguments: fc.json() }),
          }),
          { maxLength: 2 },
        ),
      }),
      logprobs: fc.constant(null),
      finish_reason: fc.constantFrom("stop", "length", "tool_calls"),
    }),
    { maxLength: 3 },
  ),
  usage,
  prompt_logprobs: fc.constant(null),
  kv_transfer_params: fc.oneof(fc.constant(null), fc.dictionary(fc.string(), fc.string())),
});

const layouts = [(v: unknown) => JSON.stringify(v), (v: unknown) => JSON.stringify(v, null, 2)];

describe("usageFromTail", () => {
  it("finds the answer's own usage whatever the content, tool arguments and layout", () => {
    fc.assert(
      fc.property(answer, fc.constantFrom(...layouts), (a, layout) => {
        fc.pre(!Object.keys(a.kv_transfer_params ?? {}).includes("usage"));
        expect(usageFromTail(layout(a))).toEqual(a.usage);
      }),
      { numRuns: 2_000 },
    );
  });

  it("never returns a usage other than the answer's own from a cut-off answer", () => {
    fc.assert(
      fc.property(answer, fc.double({ min: 0, max: 1, noNaN: true }), (a, cut) => {
        fc.pre(!Object.keys(a.kv_transfer_params ?? {}).includes("usage"));
        const text = JSON.stringify(a);
        const found = usageFromTail(text.slice(0, Math.floor(cut * (text.length - 1))));
        if (found !== undefined) expect(found).toEqual(a.usage);
      }),
      { numRuns: 2_000 },
    );
  });

  it("leaves the answer to a full parse when it cannot be sure", () => {
    for (const text of [
      "",
      "not json",
      '{"id":"x","choices":[]}', // no usage at all
      '{"usage":{"prompt_tokens":1}', // unclosed
      '{"usage":{"prompt_tokens":"1"}}', // not a number
      '{"usage":{"completion_tokens":1}}', // no prompt_tokens
      '{"usage":{"prompt_tokens":1} "x":1}', // no comma after the value
      '{"usage":[1,2]}',
      '["usage", {"prompt_tokens":1}]',
    ])
      expect(usageFromTail(text), text).toBeUndefined();
    expect(usageFromTail('{"usage" :\n null }')).toBeNull();
    expect(usageFromTail('  {"usage":{"prompt_tokens":3,"x":"}"}}\n')).toEqual({ prompt_tokens: 3, x: "}" });
  });
});
