import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "./server.ts";
import { postJson, postSse, startSimulator } from "./testing.ts";

/** Match conditions, per-rule behaviour, strict mode, hit counts and runtime replacement, over HTTP. */

const tool = (name: string) => ({
  type: "function",
  function: { name, parameters: { type: "object", properties: { command: { type: "string" } } } },
});

let sim: Simulator;
let base: string;
let chat: string;

beforeAll(async () => {
  const started = await startSimulator({ model: "kimi-k2.5" });
  sim = started.sim;
  base = started.url;
  chat = `${base}/v1/chat/completions`;
});
afterAll(() => sim.close());

async function setScript(body: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}/sim/script`, { method: "POST", body });
  return { status: res.status, json: await res.json() };
}

async function stats(): Promise<{ script: { rules: { name: string; hits: number }[]; unmatched: number } }> {
  return (await (await fetch(`${base}/sim/stats`)).json()) as never;
}

async function ask(
  messages: unknown[],
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on arbitrary response JSON.
): Promise<{ status: number; json: any }> {
  const res = await fetch(chat, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "kimi-k2.5", messages, ...extra }),
  });
  return { status: res.status, json: await res.json() };
}

const toolRound = [
  { role: "system", content: "You are an agent. Tools: exec, read." },
  { role: "user", content: "Count the lines of data.csv" },
  {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "functions.exec:0", type: "function", function: { name: "exec", arguments: "{}" } }],
  },
  { role: "tool", tool_call_id: "functions.exec:0", content: "42 data.csv" },
];

describe("POST /sim/script replaces the running script", () => {
  it("accepts YAML, reports it at GET, keeps the old script when the new one is invalid, and DELETE clears it", async () => {
    const ok = await setScript(
      "rules:\n  - name: hi\n    match: { lastUserContains: hello }\n    reply: { content: Hi! }\n",
    );
    expect(ok.status).toBe(200);
    expect((await ask([{ role: "user", content: "hello" }])).json.choices[0].message.content).toBe("Hi!");
    const bad = await setScript('{"rules":[{"match":{"nope":1},"reply":{}}]}');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain("nope");
    const current = (await (await fetch(`${base}/sim/script`)).json()) as {
      script: { rules: { name: string }[] };
    };
    expect(current.script.rules.map((r) => r.name)).toEqual(["hi"]);
    expect((await fetch(`${base}/sim/script`, { method: "DELETE" })).status).toBe(200);
    expect((await ask([{ role: "user", content: "hello" }])).json.choices[0].message.content).not.toBe("Hi!");
  });
});

describe("match conditions", () => {
  it("any/first/last message of a role, by substring or regex", async () => {
    await setScript(
      JSON.stringify({
        rules: [
          {
            name: "first-user",
            match: { message: { role: "user", which: "first", contains: "alpha" } },
            reply: { content: "A" },
          },
          {
            name: "last-assistant-re",
            match: { message: { role: "assistant", which: "last", regex: "Observation: \\d+" } },
            reply: { content: "B" },
          },
          {
            name: "any-user-and-system",
            match: {
              message: [
                { role: "user", contains: "gamma" },
                { role: "system", regex: "^Be" },
              ],
            },
            reply: { content: "C" },
          },
        ],
      }),
    );
    const first = await ask([
      { role: "user", content: "alpha" },
      { role: "assistant", content: "x" },
      { role: "user", content: "beta" },
    ]);
    expect(first.json.choices[0].message.content).toBe("A");
    const react = await ask([
      { role: "user", content: "q" },
      { role: "assistant", content: "Thought: ok\nObservation: 17" },
      { role: "user", content: "go on" },
    ]);
    expect(react.json.choices[0].message.content).toBe("B");
    const any = await ask([
      { role: "system", content: "Be brief" },
      { role: "user", content: "gamma" },
      { role: "user", content: "delta" },
    ]);
    expect(any.json.choices[0].message.content).toBe("C");
    const none = await ask([
      { role: "system", content: "Not brief" },
      { role: "user", content: "gamma" },
    ]);
    expect(none.json.choices[0].message.content).not.toBe("C");
  });

  it("last tool name, tool result content and regex, tools offered, no tools, turn and session id", async () => {
    await setScript(
      JSON.stringify({
        rules: [
          { name: "session", match: { sessionId: "s-1" }, reply: { content: "session s-1" } },
          {
            name: "after-exec",
            match: { lastToolName: "exec", toolResultRegex: "^\\d+ data" },
            reply: { content: "42 lines" },
          },
          {
            name: "both-tools",
            match: { hasTool: ["exec", "read"], turn: 1 },
            reply: { toolCalls: [{ name: "read", arguments: { command: "x" } }] },
          },
          {
            name: "react",
            match: { noTools: true, turn: 1 },
            reply: { content: "Thought: I know\nFinal Answer: 7" },
          },
        ],
      }),
    );
    const tools = [tool("exec"), tool("read")];
    expect((await ask(toolRound, { tools })).json.choices[0].message.content).toBe("42 lines");
    const call = await ask([{ role: "user", content: "go" }], { tools });
    expect(call.json.choices[0].message.tool_calls[0].function.name).toBe("read");
    const oneTool = await ask([{ role: "user", content: "go" }], { tools: [tool("exec")] });
    expect(oneTool.json.choices[0].message.tool_calls?.[0]?.function?.arguments ?? "").not.toBe(
      '{"command":"x"}',
    );
    expect((await ask([{ role: "user", content: "go" }])).json.choices[0].message.content).toContain(
      "Final Answer: 7",
    );
    const withSession = await ask([{ role: "user", content: "go" }], {}, { "x-session-id": "s-1" });
    expect(withSession.json.choices[0].message.content).toBe("session s-1");
  });
});

describe("per-rule behaviour", () => {
  it("finish_reason, delay and an error on the rule's Nth hit", async () => {
    await setScript(
      JSON.stringify({
        rules: [
          {
            name: "cut",
            match: { lastUserContains: "cut" },
            reply: { content: "partial", finishReason: "length" },
          },
          { name: "slow", match: { lastUserContains: "slow" }, reply: { content: "late" }, delayMs: 300 },
          {
            name: "flaky",
            match: { lastUserContains: "flaky" },
            reply: { content: "fine" },
            error: { status: 503, onHits: [2] },
          },
        ],
      }),
    );
    const cut = await ask([{ role: "user", content: "cut" }]);
    expect(cut.json.choices[0].finish_reason).toBe("length");
    const streamed = await postSse(chat, {
      model: "kimi-k2.5",
      stream: true,
      messages: [{ role: "user", content: "cut" }],
    });
    const finish = streamed.events
      .map((e) => (e["choices"] as { finish_reason?: string }[])[0]?.finish_reason)
      .filter(Boolean);
    expect(finish).toEqual(["length"]);
    const t0 = performance.now();
    expect((await ask([{ role: "user", content: "slow" }])).json.choices[0].message.content).toBe("late");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    const flaky = [
      await ask([{ role: "user", content: "flaky" }]),
      await ask([{ role: "user", content: "flaky" }]),
      await ask([{ role: "user", content: "flaky" }]),
    ];
    expect(flaky.map((r) => r.status)).toEqual([200, 503, 200]);
    expect(flaky[1]!.json.error.message).toContain("flaky");
    const s = await stats();
    expect(s.script.rules).toEqual([
      { name: "cut", hits: 2 },
      { name: "slow", hits: 1 },
      { name: "flaky", hits: 3 },
    ]);
    await fetch(`${base}/sim/stats/reset`, { method: "POST" });
    expect((await stats()).script.rules.every((r) => r.hits === 0)).toBe(true);
  });
});

describe("strict mode", () => {
  it("answers an unmatched request with a 400 naming its last messages and counts it", async () => {
    await setScript(
      "strict: true\nrules:\n  - name: only\n    match: { lastUserContains: known }\n    reply: { content: ok }\n",
    );
    const miss = await ask(toolRound, { tools: [tool("exec")] });
    expect(miss.status).toBe(400);
    expect(miss.json.error.message).toMatch(/no simulator script rule matched/);
    expect(miss.json.error.message).toContain('[tool] "42 data.csv"');
    expect(miss.json.error.message).toContain("tool_calls: exec");
    expect(miss.json.error.message.length).toBeLessThanOrEqual(500);
    expect((await ask([{ role: "user", content: "known" }])).status).toBe(200);
    expect((await stats()).script.unmatched).toBe(1);
  });
});

describe("the default generator with tools", () => {
  it("answers in text once a tool result arrived after its last call, even with a user message appended after it", async () => {
    await fetch(`${base}/sim/script`, { method: "DELETE" });
    const tools = [tool("exec")];
    const appended = [...toolRound, { role: "user", content: "Continue. You may use exec if needed." }];
    const res = await postJson(chat, { model: "kimi-k2.5", messages: appended, tools });
    expect(res.json.choices[0].message.tool_calls ?? []).toEqual([]);
    expect(res.json.choices[0].finish_reason).toBe("stop");
    expect(res.json.choices[0].message.content).toContain("42 data.csv");
  });

  it("does not call every tool whose name appears inside other words of the boilerplate", async () => {
    const tools = [tool("exec"), tool("read"), tool("web_search")];
    const res = await postJson(chat, {
      model: "kimi-k2.5",
      messages: [
        {
          role: "user",
          content:
            "Executables are read-only; already_read files stay. Search the web_search_results folder.",
        },
      ],
      tools,
    });
    const names = res.json.choices[0].message.tool_calls.map(
      (c: { function: { name: string } }) => c.function.name,
    );
    expect(names).toEqual(["exec"]);
  });
});
