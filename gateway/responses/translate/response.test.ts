import { describe, expect, it } from "vitest";
import { toResponse } from "./index.ts";
import { responseViolations } from "./spec/validate.ts";

const body = {
  model: "auto",
  instructions: "Be brief.",
  input: "hi",
  tools: [{ type: "function", name: "w", parameters: { type: "object" } }],
  tool_choice: "required",
  temperature: 0.3,
  max_output_tokens: 100,
  store: false,
  metadata: { team: "a" },
  text: { format: { type: "json_object" } },
  reasoning: { effort: "high" },
};

describe("toResponse", () => {
  it("maps a completion with reasoning, text, a call and detailed usage, and echoes the request", () => {
    const res = toResponse(
      {
        id: "chatcmpl-9",
        object: "chat.completion",
        created: 5,
        model: "qwen3-32b",
        choices: [
          {
            index: 0,
            finish_reason: "tool_calls",
            message: {
              role: "assistant",
              content: "{}",
              reasoning: "think",
              tool_calls: [
                { id: "chatcmpl-tool-1", type: "function", function: { name: "w", arguments: "{}" } },
              ],
            },
          },
        ],
        usage: {
          prompt_tokens: 50,
          completion_tokens: 20,
          total_tokens: 70,
          prompt_tokens_details: { cached_tokens: 32 },
          completion_tokens_details: { reasoning_tokens: 7 },
        },
      },
      { id: "resp_q", createdAt: 1_764_000_000, body },
    );
    expect(responseViolations(res)).toEqual([]);
    expect(res).toMatchObject({
      id: "resp_q",
      object: "response",
      created_at: 1_764_000_000,
      status: "completed",
      error: null,
      incomplete_details: null,
      model: "qwen3-32b",
      instructions: "Be brief.",
      tools: [
        { type: "function", name: "w", parameters: { type: "object" }, strict: null, description: null },
      ],
      tool_choice: "required",
      temperature: 0.3,
      top_p: null,
      max_output_tokens: 100,
      store: false,
      metadata: { team: "a" },
      text: { format: { type: "json_object" } },
      reasoning: { effort: "high" },
      parallel_tool_calls: true,
      output: [
        {
          type: "reasoning",
          id: "rs_q_0",
          summary: [],
          content: [{ type: "reasoning_text", text: "think" }],
        },
        {
          type: "message",
          id: "msg_q_1",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "{}", annotations: [] }],
        },
        { type: "function_call", id: "fc_q_2", call_id: "chatcmpl-tool-1", name: "w", arguments: "{}" },
      ],
      usage: {
        input_tokens: 50,
        input_tokens_details: { cached_tokens: 32, cache_write_tokens: 0 },
        output_tokens: 20,
        output_tokens_details: { reasoning_tokens: 7 },
        total_tokens: 70,
      },
    });
    expect(typeof res["completed_at"]).toBe("number");
    // output_text is an SDK convenience (the spec says so); the wire object does not carry it.
    expect(res).not.toHaveProperty("output_text");
  });

  it("reports a reply cut by the token limit as incomplete", () => {
    const res = toResponse(
      {
        model: "kimi-k2.5-q2",
        choices: [{ index: 0, finish_reason: "length", message: { role: "assistant", content: "The" } }],
        usage: { prompt_tokens: 1, completion_tokens: 16, total_tokens: 17 },
      },
      { id: "resp_l", createdAt: 1, body: { model: "kimi-k2.5-q2", max_output_tokens: 16 } },
    );
    expect(responseViolations(res)).toEqual([]);
    expect(res).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      output: [{ type: "message", status: "incomplete" }],
    });
    expect(res).not.toHaveProperty("completed_at");
  });

  it("reports a filtered reply as incomplete with reason content_filter", () => {
    const res = toResponse(
      { model: "m", choices: [{ index: 0, finish_reason: "content_filter", message: { content: "x" } }] },
      { id: "resp_f", createdAt: 1, body: { model: "m" } },
    );
    expect(res).toMatchObject({ status: "incomplete", incomplete_details: { reason: "content_filter" } });
    expect(res).not.toHaveProperty("usage");
    expect(responseViolations(res)).toEqual([]);
  });
});
