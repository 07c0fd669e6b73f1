import { describe, expect, it } from "vitest";
import { normaliseReasoningIn, normaliseReasoningOut } from "./reasoning.ts";

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
