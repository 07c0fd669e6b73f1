/** The differential test's framing normalisation, on fixed SSE bodies (no engine needed). */
import { describe, expect, it } from "vitest";
import { streamShape } from "./framing.ts";

const sse = (...deltas: object[]) =>
  `${deltas
    .map((delta, i) => {
      const finish = i === deltas.length - 1 ? "tool_calls" : null;
      const chunk = {
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta, finish_reason: finish }],
      };
      return `data: ${JSON.stringify(chunk)}\n\n`;
    })
    .join("")}data: [DONE]\n\n`;

describe("streamShape", () => {
  const role = { role: "assistant", content: "" };
  const call = {
    tool_calls: [
      { index: 0, id: "chatcmpl-tool-1", type: "function", function: { name: "f", arguments: "{}" } },
    ],
  };

  it("drops deltas that carry nothing (vLLM's timing-dependent empty reasoning / null content)", () => {
    const plain = streamShape(sse(role, { reasoning: "hm" }, call, {}));
    const withEmpty = streamShape(
      sse(role, { reasoning: "hm" }, { reasoning: "" }, { content: null }, call, {}),
    );
    expect(withEmpty).toEqual(plain);
  });

  it("keeps the role chunk, text, tool calls and the finish chunk", () => {
    const shape = streamShape(sse(role, { reasoning: "hm" }, call, {}));
    expect(shape["choice 0"]).toHaveLength(4);
    expect(streamShape(sse(role, { content: "x" }, {}))["choice 0"]).toHaveLength(3);
  });
});
