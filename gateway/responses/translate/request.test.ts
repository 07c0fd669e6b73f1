import { describe, expect, it } from "vitest";
import { GatewayError } from "../../errors.ts";
import { inputItems, toChatRequest } from "./index.ts";

type Json = Record<string, unknown>;

/** The 400 a body earns, as the client would see it. */
function refusal(body: Json, input: unknown[] = ["hi"]): Json {
  try {
    toChatRequest({ model: "m", ...body }, input);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(400);
    return (err as GatewayError).toBody().error as unknown as Json;
  }
  throw new Error("expected a 400");
}

describe("toChatRequest", () => {
  it("turns instructions and a string input into system and user messages", () => {
    const body = { model: "kimi-k2.5-q2", instructions: "Be brief.", input: "Hi there" };
    expect(toChatRequest(body, inputItems(body.input))).toEqual({
      model: "kimi-k2.5-q2",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi there" },
      ],
    });
  });

  it("maps message items of every role, text parts and images", () => {
    const chat = toChatRequest({ model: "m" }, [
      { type: "message", role: "developer", content: [{ type: "input_text", text: "Rules." }] },
      { role: "system", content: "More rules." },
      {
        role: "user",
        content: [
          { type: "input_text", text: "What is this?" },
          { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "low" },
        ],
      },
      {
        type: "message",
        role: "assistant",
        id: "msg_1",
        status: "completed",
        content: [{ type: "output_text", text: "A cat.", annotations: [] }],
      },
      {
        role: "user",
        content: [
          { type: "input_text", text: "Sure?" },
          { type: "input_text", text: "Really?" },
        ],
      },
    ]);
    expect(chat["messages"]).toEqual([
      { role: "system", content: "Rules." },
      { role: "system", content: "More rules." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } },
        ],
      },
      { role: "assistant", content: "A cat." },
      {
        role: "user",
        content: [
          { type: "text", text: "Sure?" },
          { type: "text", text: "Really?" },
        ],
      },
    ]);
  });

  it("folds a turn's reasoning, text and function calls into one assistant message, outputs into tool messages", () => {
    const chat = toChatRequest({ model: "m" }, [
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        type: "reasoning",
        id: "rs_1",
        summary: [],
        content: [{ type: "reasoning_text", text: "Two cities." }],
      },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Checking." }] },
      { type: "function_call", call_id: "functions.w:0", name: "w", arguments: '{"c":"Paris"}' },
      { type: "function_call", call_id: "functions.w:1", name: "w", arguments: '{"c":"Rome"}' },
      { type: "function_call_output", call_id: "functions.w:0", output: "sunny" },
      {
        type: "function_call_output",
        call_id: "functions.w:1",
        output: [
          { type: "input_text", text: "rain" },
          { type: "input_text", text: "12C" },
        ],
      },
      { type: "reasoning", id: "rs_2", summary: [{ type: "summary_text", text: "Answer now." }] },
      { type: "function_call", call_id: "functions.w:2", name: "w", arguments: "{}" },
    ]);
    expect(chat["messages"]).toEqual([
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Checking.",
        reasoning_content: "Two cities.",
        tool_calls: [
          { id: "functions.w:0", type: "function", function: { name: "w", arguments: '{"c":"Paris"}' } },
          { id: "functions.w:1", type: "function", function: { name: "w", arguments: '{"c":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "functions.w:0", content: "sunny" },
      { role: "tool", tool_call_id: "functions.w:1", content: "rain\n12C" },
      {
        role: "assistant",
        content: null,
        reasoning_content: "Answer now.",
        tool_calls: [{ id: "functions.w:2", type: "function", function: { name: "w", arguments: "{}" } }],
      },
    ]);
  });

  it("drops reasoning that no assistant message follows", () => {
    const chat = toChatRequest({ model: "m" }, [
      { type: "reasoning", id: "rs_1", summary: [], content: [{ type: "reasoning_text", text: "Hmm." }] },
      { role: "user", content: "Go on." },
    ]);
    expect(chat["messages"]).toEqual([{ role: "user", content: "Go on." }]);
  });

  it("nests function tools and maps every tool_choice form", () => {
    const tools = [
      { type: "function", name: "w", description: "Weather", parameters: { type: "object" }, strict: true },
      { type: "function", name: "s", parameters: null },
    ];
    const nested = [
      {
        type: "function",
        function: { name: "w", description: "Weather", parameters: { type: "object" }, strict: true },
      },
      { type: "function", function: { name: "s" } },
    ];
    const req = (tool_choice: unknown) => toChatRequest({ model: "m", tools, tool_choice }, ["x"]);
    expect(req(undefined)).toMatchObject({ tools: nested });
    expect(req("required")).toMatchObject({ tools: nested, tool_choice: "required" });
    expect(req("none")).toMatchObject({ tools: nested, tool_choice: "none" });
    expect(req({ type: "function", name: "s" })).toMatchObject({
      tool_choice: { type: "function", function: { name: "s" } },
    });
    // allowed_tools: only the allowed functions are offered.
    expect(
      req({ type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "w" }] }),
    ).toMatchObject({ tools: [nested[0]], tool_choice: "required" });
  });

  it("maps sampling, limits, structured output, reasoning effort and streaming", () => {
    const chat = toChatRequest(
      {
        model: "m",
        temperature: 0.2,
        top_p: 0.9,
        max_output_tokens: 64,
        parallel_tool_calls: false,
        stream: true,
        store: false,
        metadata: { a: "b" },
        text: { format: { type: "json_schema", name: "r", schema: { type: "object" }, strict: true } },
        reasoning: { effort: "low", summary: "auto" },
        top_k: 20,
        min_p: 0.05,
        repetition_penalty: 1.1,
        presence_penalty: 0.5,
        frequency_penalty: 0.25,
        seed: 7,
        stop: ["END"],
      },
      ["x"],
    );
    expect(chat).toEqual({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 64,
      parallel_tool_calls: false,
      stream: true,
      stream_options: { include_usage: true },
      response_format: {
        type: "json_schema",
        json_schema: { name: "r", schema: { type: "object" }, strict: true },
      },
      chat_template_kwargs: { thinking: true, enable_thinking: true },
      top_k: 20,
      min_p: 0.05,
      repetition_penalty: 1.1,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      seed: 7,
      stop: ["END"],
    });
    expect(toChatRequest({ model: "m", text: { format: { type: "json_object" } } }, ["x"])).toMatchObject({
      response_format: { type: "json_object" },
    });
    expect(toChatRequest({ model: "m", reasoning: { effort: "minimal" } }, ["x"])).toMatchObject({
      chat_template_kwargs: { thinking: false, enable_thinking: false },
    });
    expect(toChatRequest({ model: "m", reasoning: { effort: null } }, ["x"])).not.toHaveProperty(
      "chat_template_kwargs",
    );
  });

  it("refuses what the engine cannot do, naming the parameter", () => {
    const cases: [Json, string, unknown[]?][] = [
      [{ tools: [{ type: "function", name: "f" }, { type: "web_search" }] }, "tools[1].type"],
      [{ tools: [{ type: "function", name: "f", defer_loading: true }] }, "tools[0].defer_loading"],
      [{ tool_choice: { type: "file_search" } }, "tool_choice"],
      [{ conversation: "conv_1" }, "conversation"],
      [{ prompt: { id: "pmpt_1" } }, "prompt"],
      [{ context_management: [{ type: "compaction" }] }, "context_management"],
      [{ moderation: { model: "omni-moderation-latest" } }, "moderation"],
      [{ background: true }, "background"],
      [{ truncation: "auto" }, "truncation"],
      [{ top_logprobs: 3 }, "top_logprobs"],
      [{ include: ["reasoning.encrypted_content", "message.output_text.logprobs"] }, "include[1]"],
      [{ text: { verbosity: "low" } }, "text.verbosity"],
      [{ text: { format: { type: "grammar" } } }, "text.format.type"],
      [{ reasoning: { effort: "extreme" } }, "reasoning.effort"],
      [{ frobnicate: 1 }, "frobnicate"],
      [{}, "input[0].type", [{ type: "computer_call", call_id: "c" }]],
      [{}, "input[0].type", [{ type: "item_reference", id: "msg_1" }]],
      [{}, "input[0].content[0].type", [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }]],
      [
        {},
        "input[0].content[0].image_url",
        [{ role: "user", content: [{ type: "input_image", file_id: "f" }] }],
      ],
      [{}, "input[0].role", [{ role: "critic", content: "x" }]],
      [{}, "input[0].call_id", [{ type: "function_call_output", output: "x" }]],
    ];
    for (const [body, param, input] of cases) {
      const error = refusal(body, input);
      expect({ param: error["param"], type: error["type"] }).toEqual({
        param,
        type: "invalid_request_error",
      });
      expect(String(error["message"]).length).toBeGreaterThan(10);
    }
  });

  it("accepts the defaults clients send and the fields only the envelope uses", () => {
    const chat = toChatRequest(
      {
        model: "m",
        truncation: "disabled",
        background: false,
        top_logprobs: 0,
        include: ["reasoning.encrypted_content", "message.input_image.image_url"],
        text: { format: { type: "text" }, verbosity: "medium" },
        previous_response_id: "resp_1",
        service_tier: "auto",
        user: "u",
        prompt_cache_key: "k",
        max_tool_calls: 3,
        stream: false,
        conversation: null,
      },
      ["x"],
    );
    expect(chat).toEqual({ model: "m", messages: [{ role: "user", content: "x" }] });
  });
});
