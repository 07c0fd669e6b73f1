/**
 * Behaviours measured on real vLLM 0.20.2 (reference-engine/) that the simulator copies, checked
 * here without the reference engine so a regression shows up even where it is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idleClose } from "../reference-engine/differential.ts";
import type { Simulator } from "./server.ts";
import { postJson, postSse, startSimulator } from "./testing.ts";

let sim: Simulator;
let url: string;
let chatUrl: string;

beforeAll(async () => {
  ({ sim, url } = await startSimulator({ model: "kimi-k2.5" }));
  chatUrl = `${url}/v1/chat/completions`;
});
afterAll(() => sim.close());

const messages = [{ role: "user", content: "Weather in Paris? use get_weather" }];
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

describe("the simulator answers like vLLM 0.20.2", () => {
  it("ends a named tool_choice with stop, content '' and a random chatcmpl-tool id", async () => {
    const body = {
      model: "kimi-k2.5",
      messages,
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    };
    const { json } = await postJson(chatUrl, body);
    expect(json.choices[0].finish_reason).toBe("stop");
    expect(json.choices[0].message.content).toBe("");
    expect(json.choices[0].message.tool_calls[0].id).toMatch(/^chatcmpl-tool-[0-9a-f]{16}$/);
    const s = await postSse(chatUrl, { ...body, stream: true });
    const finals = s.events.flatMap((e) => (e["choices"] as { finish_reason: string | null }[]) ?? []);
    expect(finals.at(-1)!.finish_reason).toBe("stop");
  });

  it("drops a tool call cut by max_tokens when not streaming, streams its part otherwise", async () => {
    const body = {
      model: "kimi-k2.5",
      messages,
      tools: [weather],
      chat_template_kwargs: { thinking: false },
      max_tokens: 3,
    };
    const { json } = await postJson(chatUrl, body);
    expect(json.choices[0]).toMatchObject({
      finish_reason: "length",
      message: { tool_calls: [], content: null },
    });
    const s = await postSse(chatUrl, { ...body, stream: true });
    const choices = s.events.flatMap((e) => e["choices"] as Record<string, unknown>[]);
    expect(choices.at(-1)!["finish_reason"]).toBe("tool_calls");
    expect(choices.some((c) => JSON.stringify(c["delta"]).includes('"arguments"'))).toBe(true);
  });

  it("refuses what vLLM refuses, with its status and error type", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ model: "kimi-k2.5", messages, tools: [] }, "Bad Request"],
      [{ model: "kimi-k2.5", messages, tool_choice: "required" }, "Bad Request"],
      [{ model: "kimi-k2.5", messages, n: 2, temperature: 0 }, "BadRequestError"],
      [{ model: "kimi-k2.5" }, "Bad Request"],
    ];
    for (const [body, type] of cases) {
      const res = await postJson(chatUrl, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error).toMatchObject({ type, code: 400, param: null });
    }
    const text = await fetch(chatUrl, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ model: "kimi-k2.5", messages }),
    });
    expect(text.status).toBe(400);
    const alias = await postJson(chatUrl, { model: "kimi", messages });
    expect(alias.status).toBe(404);
  });

  it("sends a usage chunk only for include_usage: true", async () => {
    const base = { model: "kimi-k2.5", messages: [{ role: "user", content: "hi" }], stream: true };
    const empty = await postSse(chatUrl, { ...base, stream_options: {} });
    expect(empty.events.some((e) => "usage" in e)).toBe(false);
    const on = await postSse(chatUrl, { ...base, stream_options: { include_usage: true } });
    expect(on.events.at(-1)!["usage"]).not.toHaveProperty("prompt_tokens_details");
  });

  it("keeps K2.5 thinking on for enable_thinking: false (only `thinking` switches it)", async () => {
    const hi = [{ role: "user", content: "hi" }];
    const kw = await postJson(chatUrl, {
      model: "kimi-k2.5",
      messages: hi,
      chat_template_kwargs: { enable_thinking: false },
    });
    expect(kw.json.choices[0].message.reasoning).toEqual(expect.any(String));
    const off = await postJson(chatUrl, {
      model: "kimi-k2.5",
      messages: hi,
      chat_template_kwargs: { thinking: false },
    });
    expect(off.json.choices[0].message.reasoning).toBeNull();
  });

  it("answers HEAD /health with 405 and names the completion after X-Request-Id", async () => {
    expect((await fetch(`${url}/health`, { method: "HEAD" })).status).toBe(405);
    const res = await fetch(chatUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "abc-123" },
      body: JSON.stringify({ model: "kimi-k2.5", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(((await res.json()) as { id: string }).id).toBe("chatcmpl-abc-123");
  });

  it("streams deltas framed like vLLM: token_ids, tool_calls: [] on content, empty final delta", async () => {
    const s = await postSse(chatUrl, {
      model: "kimi-k2.5",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    const [role, ...rest] = s.events;
    expect(role).toHaveProperty("prompt_token_ids", null);
    const content = rest.find((e) => JSON.stringify(e).includes('"content":"'))!;
    const choice = (content["choices"] as Record<string, unknown>[])[0]!;
    expect(choice).toMatchObject({ token_ids: null, delta: { tool_calls: [] } });
    const last = (rest.at(-1)!["choices"] as Record<string, unknown>[])[0]!;
    expect(last).toMatchObject({ delta: {}, finish_reason: "stop", token_ids: null });
  });

  it("closes an idle keep-alive connection after 5 s without announcing it (uvicorn)", async () => {
    const idle = await idleClose(url);
    expect(idle.keepAliveHeader).toBeNull();
    expect(idle.closedAfterMs).toBeGreaterThan(4_500);
    expect(idle.closedAfterMs).toBeLessThan(6_500);
  }, 15_000);
});
