import { describe, expect, it } from "vitest";
import { renderReport } from "../report.ts";
import { ConformanceFailure, checkErrorShape, checkNoMarkersInContent } from "./checks.ts";
import { specViolations, stripVendorNulls } from "./spec.ts";
import { assembleStream, type ChatChunk } from "./sse.ts";

describe("spec", () => {
  it("strips only the documented vendor nulls, so wrong non-null values still fail", () => {
    const body = { system_fingerprint: null, usage: { prompt_tokens_details: null } };
    expect(stripVendorNulls("CreateChatCompletionResponse", body)).toEqual({ usage: {} });
    expect(
      specViolations("ErrorResponse", { error: { message: "m", type: "t", param: null, code: 400 } }),
    ).not.toEqual([]);
  });

  it("accepts vLLM's null id, type and name on a finish chunk's last tool-argument piece, nothing else", () => {
    const chunk = (call: object) => ({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1,
      model: "kimi-k2.5",
      choices: [{ index: 0, delta: { tool_calls: [call] }, logprobs: null, finish_reason: "tool_calls" }],
    });
    const nulls = { id: null, type: null, index: 0, function: { name: null, arguments: '"}' } };
    expect(specViolations("CreateChatCompletionStreamResponse", chunk(nulls))).toEqual([]);
    const wrong = { id: 7, type: "function", index: 0, function: { name: null, arguments: '"}' } };
    expect(specViolations("CreateChatCompletionStreamResponse", chunk(wrong))).not.toEqual([]);
  });
});

describe("checks", () => {
  it("finds leaked markers and vendor error bodies", () => {
    expect(() => checkNoMarkersInContent("ok</think>then")).toThrow(ConformanceFailure);
    expect(() => checkNoMarkersInContent("<|tool_calls_section_begin|>")).toThrow(/tool_calls_section_begin/);
    expect(() => checkErrorShape(404, { detail: "Not Found" })).toThrow(/no "error" object/);
    checkErrorShape(
      404,
      { error: { message: "m", type: "invalid_request_error", param: null, code: null } },
      404,
    );
  });

  it("reassembles tool-call argument pieces by index", () => {
    const chunk = (delta: object, finish: string | null = null): ChatChunk => ({
      id: "c",
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const [choice] = assembleStream([
      chunk({ role: "assistant", content: "" }),
      chunk({
        tool_calls: [
          { index: 0, id: "functions.f:0", type: "function", function: { name: "f", arguments: "" } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
      chunk({}, "tool_calls"),
    ]);
    expect(choice!.toolCalls).toEqual([
      { id: "functions.f:0", type: "function", function: { name: "f", arguments: '{"a":1}' } },
    ]);
    expect(choice!.finishReason).toBe("tool_calls");
  });
});

describe("report", () => {
  it("lists every case with its result, time and skip reason", () => {
    const md = renderReport({
      target: { name: "staging", baseUrl: "https://gw" },
      gatewayVersion: "0.1.0",
      backends: [{ id: "kimi-k2.5", engine: "vllm", versions: ["vllm 0.20.2"] }],
      results: {
        numPassedTests: 1,
        numFailedTests: 1,
        numPendingTests: 1,
        numTotalTests: 3,
        startTime: 0,
        success: false,
        testResults: [
          {
            name: "suite.test.ts",
            assertionResults: [
              {
                ancestorTitles: ["tools"],
                title: "a | b",
                status: "passed",
                duration: 12.4,
                failureMessages: [],
              },
              {
                ancestorTitles: ["errors"],
                title: "x",
                status: "failed",
                duration: 3,
                failureMessages: ["boom\nstack"],
              },
              { ancestorTitles: ["ext"], title: "y", status: "skipped", duration: 0, failureMessages: [] },
            ],
          },
        ],
      },
      skips: new Map([["y", "feature off"]]),
      finishedAt: new Date(0),
    });
    expect(md).toContain("**FAIL**");
    expect(md).toContain("| tools | a \\| b | ✅ pass | 12 |  |");
    expect(md).toContain("| errors | x | ❌ fail | 3 | boom |");
    expect(md).toContain("| ext | y | ⏭️ skip | 0 | feature off |");
    expect(md).toContain("| kimi-k2.5 | vllm | vllm 0.20.2 |");
  });
});
