/**
 * The scripting proxy and the K2.5 text it scripts, without vLLM (fast; gatewayOnVllm.test.ts runs
 * them against the real engine). The upstream here is a loopback server that records what arrives
 * and answers with fixed bytes, so both directions can be checked exactly.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileScript } from "../sim/script.ts";
import { kimiScript } from "./kimiScript.ts";
import { type ScriptingProxy, startScriptingProxy } from "./scriptingProxy.ts";

const weather = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};
const time = {
  type: "function",
  function: { name: "get_time", parameters: { type: "object", properties: { city: { type: "string" } } } },
};
const ask = (content: string) => [{ role: "user", content }];
const OFF = { chat_template_kwargs: { thinking: false } };

describe("kimiScript: the simulator's planned reply as K2.5 text", () => {
  it("thinks first (closing </think>) unless thinking is off, then answers", () => {
    const on = kimiScript({ model: "kimi-k2.5", messages: ask("Say hello.") })!;
    expect(on).toMatch(/^[^<]+<\/think>[^<]+$/);
    const off = kimiScript({ model: "kimi-k2.5", messages: ask("Say hello."), ...OFF })!;
    expect(off).not.toContain("</think>");
    expect(off.length).toBeGreaterThan(0);
  });

  it("writes auto tool calls as K2.5's tool-call section, ids counting on from earlier calls", () => {
    const text = kimiScript({
      model: "kimi-k2.5",
      messages: [
        ...ask('Use get_weather for "Rome".'),
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "functions.get_weather:0", type: "function", function: { name: "get_weather" } },
          ],
        },
        { role: "tool", tool_call_id: "functions.get_weather:0", content: "{}" },
        // An answer closes the round; a user message straight after a tool result is answered in text.
        { role: "assistant", content: "Mild in Rome." },
        ...ask('Call get_weather and get_time for "Milan".'),
      ],
      tools: [weather, time],
      ...OFF,
    });
    expect(text).toBe(
      "<|tool_calls_section_begin|>" +
        '<|tool_call_begin|>functions.get_weather:1<|tool_call_argument_begin|>{"city":"Milan"}<|tool_call_end|>' +
        '<|tool_call_begin|>functions.get_time:2<|tool_call_argument_begin|>{"city":"Milan"}<|tool_call_end|>' +
        "<|tool_calls_section_end|>",
    );
  });

  it("writes what vLLM's structured output expects for a named function and for required", () => {
    const named = kimiScript({
      model: "kimi-k2.5",
      messages: ask('Weather in "Oslo"'),
      tools: [weather, time],
      tool_choice: { type: "function", function: { name: "get_time" } },
      ...OFF,
    });
    expect(named).toBe('{"city":"Oslo"}');
    const required = kimiScript({
      model: "kimi-k2.5",
      messages: ask('Weather in "Oslo"'),
      tools: [weather],
      tool_choice: "required",
      ...OFF,
    });
    expect(JSON.parse(required!)).toEqual([{ name: "get_weather", parameters: { city: "Oslo" } }]);
  });

  it("leaves max_tokens, stop and n to vLLM: the script is the whole reply", () => {
    const body = { model: "kimi-k2.5", messages: ask("Talk."), seed: 3, ...OFF };
    const whole = kimiScript(body)!;
    expect(kimiScript({ ...body, max_tokens: 2, stop: [whole.split(" ")[1]!], n: 3 })).toBe(whole);
  });

  it("follows simulator script rules when given", () => {
    const script = compileScript({
      rules: [{ match: { lastUserContains: "ping" }, reply: { reasoning: "Pong time.", content: "pong" } }],
    });
    expect(kimiScript({ model: "kimi-k2.5", messages: ask("ping") }, script)).toBe("Pong time.</think>pong");
  });

  it("scripts nothing for requests vLLM refuses itself", () => {
    expect(kimiScript({ model: "kimi-k2.5", messages: ask("x"), tools: [] })).toBeUndefined();
    expect(kimiScript({ model: "kimi-k2.5" })).toBeUndefined();
  });
});

describe("scripting proxy", () => {
  let upstream: Server;
  let proxy: ScriptingProxy;
  const seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString("utf8");
      });
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(418, { "content-type": "text/event-stream", "x-engine": "upstream" });
        res.end("data: raw bytes\n\n");
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const { port } = upstream.address() as AddressInfo;
    proxy = await startScriptingProxy({ upstream: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  const post = (path: string, body: string, contentType = "application/json") =>
    fetch(`${proxy.url}${path}`, {
      method: "POST",
      headers: { "content-type": contentType, "x-request-id": "abc" },
      body,
    });

  it("adds the planned script to a chat request and passes the response through byte for byte", async () => {
    const res = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "kimi-k2.5", messages: ask("Hi"), vllm_xargs: { other: 1 } }),
    );
    expect(res.status).toBe(418);
    expect(res.headers.get("x-engine")).toBe("upstream");
    // The upstream hop closes after each request; the client's connection stays open.
    expect(res.headers.get("connection")).not.toBe("close");
    expect(await res.text()).toBe("data: raw bytes\n\n");
    const got = seen.at(-1)!;
    expect(got.headers["x-request-id"]).toBe("abc");
    const body = JSON.parse(got.body);
    expect(body.vllm_xargs.other).toBe(1);
    expect(body.vllm_xargs.gonka_script).toContain("</think>");
    expect(body.messages).toEqual(ask("Hi"));
  });

  it("scripts a Responses API request as the chat request vLLM builds from it", async () => {
    const tools = [{ type: "function", name: "get_weather", parameters: { type: "object", properties: {} } }];
    const body = { model: "kimi-k2.5", input: "use get_weather", tools };
    await post("/v1/responses", JSON.stringify(body));
    const sent = JSON.parse(seen.at(-1)!.body);
    expect(sent.input).toBe("use get_weather");
    expect(sent.vllm_xargs.gonka_script).toContain("<|tool_call_begin|>functions.get_weather:0");
  });

  it("leaves alone a request that brings its own script, other routes and non-JSON bodies", async () => {
    const own = JSON.stringify({
      model: "kimi-k2.5",
      messages: ask("Hi"),
      vllm_xargs: { gonka_script: "x" },
    });
    await post("/v1/chat/completions", own);
    expect(seen.at(-1)!.body).toBe(own);
    const completion = JSON.stringify({ model: "kimi-k2.5", prompt: "Hi" });
    await post("/v1/completions", completion);
    expect(seen.at(-1)!.body).toBe(completion);
    await post("/v1/chat/completions", "{not json");
    expect(seen.at(-1)!.body).toBe("{not json");
    const text = JSON.stringify({ model: "kimi-k2.5", messages: ask("Hi") });
    await post("/v1/chat/completions", text, "text/plain");
    expect(seen.at(-1)!.body).toBe(text);
    const health = await fetch(`${proxy.url}/health`);
    expect(health.status).toBe(418);
    expect(seen.at(-1)!.method).toBe("GET");
    expect(proxy.scripted()).toBe(2);
  });
});
