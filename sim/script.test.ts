import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConversationView } from "./chatRequest.ts";
import { compileScript, loadScriptFile, matchScript, parseScript } from "./script.ts";
import type { Simulator } from "./server.ts";
import { postJson, postSse, startSimulator } from "./testing.ts";

const EXAMPLE = fileURLToPath(new URL("./examples/weather-agent.yaml", import.meta.url));

function view(over: Partial<ConversationView>): ConversationView {
  return {
    lastRole: "user",
    lastUserText: "",
    lastToolResult: null,
    systemText: "",
    toolNames: [],
    turn: 1,
    priorToolCalls: 0,
    messages: [],
    lastToolName: null,
    toolResultSinceLastCall: false,
    sessionId: undefined,
    ...over,
  };
}

describe("script rules", () => {
  it("matches first rule whose every condition holds", async () => {
    const script = compileScript(await loadScriptFile(EXAMPLE));
    expect(matchScript(script, view({ lastUserText: "weather?", toolNames: ["get_weather"] }))?.name).toBe(
      "call-weather",
    );
    expect(matchScript(script, view({ lastUserText: "weather?" }))).toBeUndefined();
    expect(matchScript(script, view({ lastRole: "tool", lastToolResult: "sunny, 20C" }))?.name).toBe(
      "answer-from-tool",
    );
    expect(matchScript(script, view({ lastUserText: "hello there" }))?.name).toBe("greet");
    expect(matchScript(script, view({ lastUserText: "hello there", turn: 2 }))).toBeUndefined();
    const sys = compileScript(
      parseScript({ rules: [{ match: { systemContains: "pirate" }, reply: { content: "Arr" } }] }),
    );
    expect(matchScript(sys, view({ systemText: "You are a pirate" }))?.reply.content).toBe("Arr");
  });

  it("rejects malformed scripts with a readable message", () => {
    expect(() => parseScript({ rules: [{ match: { lastUserContains: 3 }, reply: {} }] })).toThrow(
      /invalid simulator script/,
    );
    expect(() => parseScript({ rules: [{ match: { unknownKey: "x" }, reply: {} }] })).toThrow(/unknownKey/);
  });
});

describe("scripted replies over HTTP", () => {
  let sim: Simulator;
  let chatUrl: string;
  const tools = [
    {
      type: "function",
      function: {
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    },
  ];
  beforeAll(async () => {
    const started = await startSimulator({ model: "kimi-k2.5", script: await loadScriptFile(EXAMPLE) });
    sim = started.sim;
    chatUrl = `${started.url}/v1/chat/completions`;
  });
  afterAll(() => sim.close());

  it("replays an agent run: scripted tool call, then scripted answer", async () => {
    const messages: unknown[] = [{ role: "user", content: "What's the weather like?" }];
    const first = await postJson(chatUrl, { model: "kimi-k2.5", messages, tools });
    const msg = first.json.choices[0].message;
    expect(msg.reasoning).toBe("The user wants the weather, so I call the tool.");
    expect(msg.tool_calls[0]).toEqual({
      id: "functions.get_weather:0",
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' },
    });
    messages.push(msg, { role: "tool", tool_call_id: msg.tool_calls[0].id, content: "sunny, 24C" });
    const second = await postJson(chatUrl, { model: "kimi-k2.5", messages, tools });
    expect(second.json.choices[0].message.content).toBe("It is sunny in Paris today.");
    const streamed = await postSse(chatUrl, { model: "kimi-k2.5", messages, tools, stream: true });
    const text = streamed.events
      .map((e) => (e["choices"] as { delta: { content?: string } }[])[0]?.delta?.content ?? "")
      .join("");
    expect(text).toBe("It is sunny in Paris today.");
  });

  it("falls back to the generator when no rule matches", async () => {
    const res = await postJson(chatUrl, {
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "tell me a story" }],
    });
    expect(res.json.choices[0].message.content.length).toBeGreaterThan(0);
    expect(res.json.choices[0].message.content).not.toContain("Paris");
  });
});
