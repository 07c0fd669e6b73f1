/**
 * The gateway in front of real vLLM 0.20.2: the local stack with `--backend vllm-ref` (kimi-k2.5 on
 * the reference engine, the other models simulated), K2.5-format replies forced per request.
 * Fails (not skips) when the reference engine is not installed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../harness/localStack.ts";
import { ensureInstalled, INSTALL_TIMEOUT_MS } from "./ensureInstalled.ts";

const dataDir = mkdtempSync(join(tmpdir(), "gonka-vllm-ref-"));
let stack: LocalStack | undefined;

// A setup failure fails every test with its message (not installed: names the install command).
let setupError: unknown;
beforeAll(async () => {
  try {
    await ensureInstalled();
    stack = await startLocalStack({ backend: "vllm-ref", port: 0, dataDir });
  } catch (err) {
    setupError = err;
  }
}, INSTALL_TIMEOUT_MS + 420_000);
beforeEach(() => {
  if (setupError) throw setupError;
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const weather = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
};
const toolReply =
  "I will call the tool.</think><|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0" +
  '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>';

async function chat(body: Record<string, unknown>): Promise<Response> {
  const info = stack!.info;
  return fetch(`${info.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${info.apiKey}` },
    body: JSON.stringify(body),
  });
}

describe("gateway in front of real vLLM 0.20.2", () => {
  it("serves kimi-k2.5 from the reference engine", () => {
    const kimi = stack!.info.backends.filter((b) => b.model === "kimi-k2.5");
    expect(kimi).toHaveLength(1);
  });

  it("passes K2.5 tool calls (ids unchanged) and reasoning in both fields, by alias", async () => {
    const res = await chat({
      model: "moonshotai/Kimi-K2.5",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [weather],
      vllm_xargs: { gonka_script: toolReply },
    });
    expect(res.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: asserting on raw response JSON.
    const json = (await res.json()) as any;
    expect(json.choices[0].finish_reason).toBe("tool_calls");
    expect(json.choices[0].message.tool_calls[0]).toMatchObject({
      id: "functions.get_weather:0",
      function: { name: "get_weather", arguments: '{"city": "Paris"}' },
    });
    expect(json.choices[0].message.reasoning).toBe("I will call the tool.");
    expect(json.choices[0].message.reasoning_content).toBe("I will call the tool.");
  }, 60_000);

  it("streams with the usage chunk only when the client asks, ending with [DONE]", async () => {
    const body = {
      model: "kimi-k2.5",
      stream: true,
      messages: [{ role: "user", content: "Hi" }],
      vllm_xargs: { gonka_script: "Short.</think>Hello there." },
    };
    const plain = await (await chat(body)).text();
    expect(plain.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(plain).not.toContain('"usage"');
    expect(plain).toContain('"content":"');
    const withUsage = await (await chat({ ...body, stream_options: { include_usage: true } })).text();
    expect(withUsage).toMatch(/"usage":\{[^}]*"completion_tokens":\d+/);
  }, 60_000);

  it("passes vLLM's validation errors on bounded, without the echoed request", async () => {
    const marker = "confidential-prompt-text";
    const res = await chat({ model: "kimi-k2.5", messages: [{ role: "user", content: marker }], tools: [] });
    expect(res.status).toBe(400);
    // biome-ignore lint/suspicious/noExplicitAny: asserting on raw response JSON.
    const json = (await res.json()) as any;
    expect(json.error.type).toBe("invalid_request_error");
    expect(json.error.message).toContain("`tools` must not be an empty array");
    expect(json.error.message).not.toContain(marker);
    expect(json.error.message).not.toContain("site-packages");
  }, 60_000);
});
