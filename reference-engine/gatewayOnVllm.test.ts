/**
 * The gateway in front of real vLLM 0.20.2: the local stack with `--backend vllm-ref` (kimi-k2.5 on
 * the reference engine behind its scripting proxy, the other models simulated). vLLM starts once
 * for this file: the gateway checks below, then the whole conformance suite against the same stack
 * (every case the simulator stack runs; kimi-k2.5's answers come from vLLM's own serving code and
 * Kimi parsers, the tiny model forced to the text the simulator's planner picks).
 * Fails (not skips) when the reference engine is not installed or does not start.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSuite, type SuiteContext } from "../conformance/lib/suite.ts";
import { registerConformance } from "../conformance/register.ts";
import { type LocalStack, startLocalStack } from "../harness/localStack.ts";
import { ensureInstalled } from "./ensureInstalled.ts";

const dataDir = mkdtempSync(join(tmpdir(), "gonka-vllm-ref-"));
// One simulator script rule, matched only by its marker, so every other request (the whole
// conformance suite) gets the planner's default replies: the stack's `--script` reaches vLLM too.
const MARKER = "[vllm-ref-script]";
const scriptFile = join(dataDir, "script.json");
writeFileSync(
  scriptFile,
  JSON.stringify({
    rules: [
      {
        match: { lastUserContains: MARKER },
        reply: { reasoning: "Scripted thought.", content: "Scripted." },
      },
    ],
  }),
);
let stack: LocalStack | undefined;
let suite: SuiteContext | undefined;
// Started while the file is collected: the conformance cases are made per listed model.
let setupError: unknown;
const setupStarted = performance.now();
try {
  await ensureInstalled();
  stack = await startLocalStack({ backend: "vllm-ref", port: 0, dataDir, simArgs: ["--script", scriptFile] });
  const info = stack.info;
  suite = await createSuite({
    baseUrl: info.gatewayUrl!,
    adminUrl: info.adminUrl,
    opsUrl: info.opsUrl,
    apiKey: info.apiKey,
    adminKey: info.adminKey,
    log: (line) => console.log(line),
  });
  console.log(
    `local stack on the reference vLLM up in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
  );
} catch (err) {
  setupError = err;
}

afterAll(async () => {
  try {
    await suite?.close();
  } finally {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

if (setupError !== undefined) {
  // One failing test carrying the reason (not installed: it names reference-engine/install.sh).
  it("starts the local stack on the reference vLLM", () => {
    throw setupError;
  });
}

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

// Registered only when the stack is up; otherwise the one failing test above says why.
if (stack)
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

    it("answers from the stack's simulator script rules when one matches, through vLLM", async () => {
      const res = await chat({ model: "kimi-k2.5", messages: [{ role: "user", content: `Hi ${MARKER}` }] });
      // biome-ignore lint/suspicious/noExplicitAny: asserting on raw response JSON.
      const json = (await res.json()) as any;
      expect(json.choices[0].message).toMatchObject({ content: "Scripted.", reasoning: "Scripted thought." });
    }, 60_000);

    it("passes vLLM's validation errors on bounded, without the echoed request", async () => {
      const marker = "confidential-prompt-text";
      const res = await chat({
        model: "kimi-k2.5",
        messages: [{ role: "user", content: marker }],
        tools: [],
      });
      expect(res.status).toBe(400);
      // biome-ignore lint/suspicious/noExplicitAny: asserting on raw response JSON.
      const json = (await res.json()) as any;
      expect(json.error.type).toBe("invalid_request_error");
      expect(json.error.message).toContain("`tools` must not be an empty array");
      expect(json.error.message).not.toContain(marker);
      expect(json.error.message).not.toContain("site-packages");
    }, 60_000);
  });

if (suite) describe("conformance against the real vLLM (kimi-k2.5)", () => registerConformance(suite!));

// Last in the file (vitest runs a file's tests in order): after the whole suite, including 16
// concurrent streams and the 16 KB arguments, the gateway never saw the engine miss a probe.
if (stack) {
  describe("the reference engine under conformance load", () => {
    it("answered every gateway health probe (kimi-k2.5 never left rotation)", () => {
      const changes = readFileSync(join(dataDir, "gateway.log"), "utf8")
        .split("\n")
        .filter((line) => line.includes("replica health changed") && line.includes('"kimi-k2.5-'));
      expect(changes).toEqual([]);
    });
  });
}
