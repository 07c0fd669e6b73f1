import { describe, expect, it } from "vitest";
import { type Message, planHistory, sameMessage } from "./history.ts";

const sys: Message = { role: "system", content: "Be brief." };
const u = (content: string): Message => ({ role: "user", content });
const a = (content: string, extra: Message = {}): Message => ({ role: "assistant", content, ...extra });
const stored = [sys, u("one"), a("1", { reasoning: "thinking" }), u("two"), a("2")];

describe("planHistory", () => {
  it("an empty session takes what the client sent", () => {
    expect(planHistory([], [sys, u("hi")])).toEqual({
      prompt: [sys, u("hi")],
      keep: 0,
      added: [sys, u("hi")],
      mode: "resent",
    });
  });

  it("a client re-sending the whole history: prompt as sent, only the tail is new", () => {
    const sent = [...stored, u("three")];
    expect(planHistory(stored, sent)).toEqual({ prompt: sent, keep: 5, added: [u("three")], mode: "resent" });
  });

  it("a client sending only new messages gets the stored history prepended", () => {
    expect(planHistory(stored, [u("three")])).toEqual({
      prompt: [...stored, u("three")],
      keep: 5,
      added: [u("three")],
      mode: "new",
    });
  });

  it("a repeated system prompt equal to the stored one is dropped, not duplicated", () => {
    const plan = planHistory(stored, [sys, u("three")]);
    expect(plan.prompt).toEqual([...stored, u("three")]);
    expect(plan.mode).toBe("new");
  });

  it("another system prompt on the same id starts over: a whole new history, not new messages", () => {
    // CrewAI's second agent, on the crew's one X-Session-Id: its own system prompt and task.
    const other: Message = { role: "system", content: "You are the report writer." };
    expect(planHistory(stored, [other, u("write it")])).toEqual({
      prompt: [other, u("write it")],
      keep: 0,
      added: [other, u("write it")],
      mode: "fork",
    });
  });

  it("an edited message forks: the common prefix is kept, the rest follows the client", () => {
    const sent = [sys, u("one"), a("1"), u("two, edited")];
    expect(planHistory(stored, sent)).toEqual({
      prompt: sent,
      keep: 3,
      added: [u("two, edited")],
      mode: "fork",
    });
  });

  it("a truncated history (regenerating an answer) forks at the cut", () => {
    const sent = [sys, u("one")];
    expect(planHistory(stored, sent)).toEqual({ prompt: sent, keep: 2, added: [], mode: "fork" });
  });

  it("history sent back without reasoning, with null fields or re-serialised arguments still matches", () => {
    const call = {
      id: "functions.f:0",
      type: "function",
      function: { name: "f", arguments: '{"a": 1, "b": [2]}' },
    };
    const withCall = [u("go"), { role: "assistant", content: null, reasoning: "hmm", tool_calls: [call] }];
    const echoed = [
      u("go"),
      {
        role: "assistant",
        content: "",
        refusal: null,
        tool_calls: [{ ...call, function: { name: "f", arguments: '{"b":[2],"a":1}' } }],
      },
      { role: "tool", tool_call_id: "functions.f:0", content: "ok" },
    ];
    expect(planHistory(withCall, echoed)).toMatchObject({ keep: 2, mode: "resent" });
    // A different tool-call id is a different conversation.
    expect(
      sameMessage(withCall[1]!, { ...withCall[1]!, tool_calls: [{ ...call, id: "functions.f:1" }] }),
    ).toBe(false);
    // Text parts equal a plain string with the same text.
    expect(sameMessage(u("hi"), { role: "user", content: [{ type: "text", text: "hi" }] })).toBe(true);
  });
});
