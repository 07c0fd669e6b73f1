import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mayCarryReasoning, normaliseReasoningIn, normaliseReasoningOut } from "./reasoning.ts";

describe("mayCarryReasoning", () => {
  it('is false for vLLM\'s answers without reasoning, which carry `"reasoning":null`', () => {
    const answer = {
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: "hi", tool_calls: [], reasoning: null } }],
      usage: { prompt_tokens: 8, completion_tokens: 2, total_tokens: 10 },
    };
    expect(mayCarryReasoning(JSON.stringify(answer))).toBe(false);
    expect(mayCarryReasoning(JSON.stringify(answer, null, 2))).toBe(false);
  });

  it("is true for reasoning text in either field, compact or indented", () => {
    for (const field of ["reasoning", "reasoning_content"]) {
      const answer = { choices: [{ message: { content: "a", [field]: "because" } }] };
      expect(mayCarryReasoning(JSON.stringify(answer))).toBe(true);
      expect(mayCarryReasoning(JSON.stringify(answer, null, 2))).toBe(true);
      expect(mayCarryReasoning(`data: {"choices":[{"delta":{"${field}" : "x"}}]}`)).toBe(true);
    }
  });

  it("never misses a message whose reasoning normaliseReasoningOut would change", () => {
    // Content and tool arguments a model may write, including what looks like a reasoning field.
    const text = fc.oneof(
      fc.string(),
      fc.constant('"reasoning":"fake"'),
      fc.constant('{"reasoning_content": "x"}'),
      fc.constant('\\"reasoning\\":\\"'),
    );
    const field = fc.oneof(fc.constant(undefined), fc.constant(null), text);
    const message = fc.record(
      { role: fc.constant("assistant"), content: text, reasoning: field, reasoning_content: field },
      { requiredKeys: ["role", "content"] },
    );
    const modes = ["both", "reasoning", "reasoning_content"] as const;
    fc.assert(
      fc.property(fc.array(message, { maxLength: 3 }), fc.boolean(), (messages, indent) => {
        const json = JSON.stringify({ choices: messages.map((m) => ({ message: m })) }, null, indent ? 2 : 0);
        if (mayCarryReasoning(json)) return;
        // A miss must mean there was nothing to normalise in any mode.
        for (const mode of modes) {
          for (const m of JSON.parse(json).choices)
            expect(normaliseReasoningOut(m.message, mode)).toBe(false);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("normaliseReasoningOut", () => {
  it("offers both fields whichever one the backend used", () => {
    const fromVllm: Record<string, unknown> = { content: "hi", reasoning: "think" };
    expect(normaliseReasoningOut(fromVllm, "both")).toBe(true);
    expect(fromVllm).toEqual({ content: "hi", reasoning: "think", reasoning_content: "think" });
    const fromLlama: Record<string, unknown> = { reasoning_content: "think" };
    normaliseReasoningOut(fromLlama, "both");
    expect(fromLlama).toEqual({ reasoning: "think", reasoning_content: "think" });
  });

  it("keeps only the configured field", () => {
    const a: Record<string, unknown> = { reasoning_content: "t" };
    normaliseReasoningOut(a, "reasoning");
    expect(a).toEqual({ reasoning: "t" });
    const b: Record<string, unknown> = { reasoning: "t", reasoning_content: "t" };
    normaliseReasoningOut(b, "reasoning_content");
    expect(b).toEqual({ reasoning_content: "t" });
  });

  it("leaves messages without reasoning untouched and reports no change", () => {
    const m: Record<string, unknown> = { content: "x", reasoning: null };
    expect(normaliseReasoningOut(m, "both")).toBe(false);
    expect(m).toEqual({ content: "x", reasoning: null });
  });
});

describe("normaliseReasoningIn", () => {
  it("moves assistant reasoning into the field the backend reads", () => {
    const messages = [
      { role: "user", content: "q", reasoning_content: "not an assistant turn" },
      { role: "assistant", content: "a", reasoning_content: "r1" },
      { role: "assistant", content: "b", reasoning: "r2", reasoning_content: "stale" },
    ];
    normaliseReasoningIn(messages, "reasoning");
    expect(messages[0]).toEqual({ role: "user", content: "q", reasoning_content: "not an assistant turn" });
    expect(messages[1]).toEqual({ role: "assistant", content: "a", reasoning: "r1" });
    expect(messages[2]).toEqual({ role: "assistant", content: "b", reasoning: "r2" });
  });

  it("works the other way for llama.cpp backends", () => {
    const messages = [{ role: "assistant", content: "a", reasoning: "r" }];
    normaliseReasoningIn(messages, "reasoning_content");
    expect(messages[0]).toEqual({ role: "assistant", content: "a", reasoning_content: "r" });
  });
});
