/** Helpers shared by the session tests: a chat client over a SessionFixture, and the sample agent's turns. */
import { expect } from "vitest";
import { post, readSse } from "../test/fixtures.ts";
import type { SessionFixture } from "./testing.ts";

export type Msg = Record<string, unknown>;

export const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];

/** `standard` with room to spare, and `tiny` with small session caps. */
export const TEST_TIERS = {
  standard: { requestsPerMinute: 10_000, tokensPerMinute: 100_000_000, concurrentRequests: 100 },
  tiny: {
    requestsPerMinute: 10_000,
    tokensPerMinute: 100_000_000,
    concurrentRequests: 100,
    sessionMaxMessages: 4,
    sessionMaxBytes: 1_000,
  },
};

export const auth = (key: { secret: string }, session?: string) => ({
  authorization: `Bearer ${key.secret}`,
  ...(session ? { "x-session-id": session } : {}),
});

export const user = (content: string): Msg => ({ role: "user", content });

export function sessionClient(fx: SessionFixture) {
  return {
    /** A non-streamed chat turn on kimi-k2.5 with the weather tool; returns the assistant message. */
    async chat(messages: Msg[], headers: Record<string, string>, extra: Msg = {}) {
      const res = await post(
        `${fx.url}/v1/chat/completions`,
        { model: "kimi-k2.5", messages, tools, ...extra },
        headers,
      );
      const body = (await res.json()) as Msg;
      expect(res.status, JSON.stringify(body)).toBe(200);
      return ((body["choices"] as Msg[])[0]!["message"] as Msg) ?? {};
    },

    /** A streamed turn; returns its parsed events (the stream must end with [DONE]). */
    async chatStream(messages: Msg[], headers: Record<string, string>) {
      const res = await post(
        `${fx.url}/v1/chat/completions`,
        { model: "kimi-k2.5", messages, tools, stream: true },
        headers,
      );
      expect(res.status).toBe(200);
      const data = await readSse(res);
      expect(data.at(-1)).toBe("[DONE]");
      return data.slice(0, -1).map((d) => JSON.parse(d) as Msg);
    },

    async getSession(key: { secret: string }, id: string) {
      const res = await fetch(`${fx.url}/v1/sessions/${id}`, { headers: auth(key) });
      return { status: res.status, body: (await res.json()) as Msg };
    },

    async setSimFaults(faults: unknown[]): Promise<void> {
      const res = await fetch(`${fx.sim.url}/sim/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(faults),
      });
      expect(res.status).toBe(200);
      await res.text();
    },
  };
}

/** The next client turn after `reply`: a tool result after a tool call, else a user question. */
export function nextTurn(reply: Msg, n: number): Msg[] {
  const calls = reply["tool_calls"] as Msg[] | undefined;
  if (calls?.length) {
    return calls.map((c) => ({ role: "tool", tool_call_id: c["id"], content: `{"temp": ${20 + n}}` }));
  }
  return [{ role: "user", content: `And question ${n}: what about Lyon?` }];
}

/** An assistant reply as a streaming client assembles it: no null fields, reasoning once. */
export function canonical(m: Msg): Msg {
  const calls = (m["tool_calls"] as Msg[] | undefined) ?? [];
  return {
    role: m["role"],
    content: m["content"] ?? null,
    ...(typeof m["reasoning"] === "string" ? { reasoning: m["reasoning"] } : {}),
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  };
}
