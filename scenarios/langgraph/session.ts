import type { Check } from "../lib/types.ts";

/**
 * TEST-03's "with sessions": the gateway's stored session for this run holds both turns with their
 * tool calls. Reads `GET /v1/sessions/{id}` and checks its content without assuming its exact
 * shape (the tool names and both user messages appear in it).
 * Both LangGraph scenarios (streamed and not) require it.
 */
export async function storedSessionCheck(
  gatewayUrl: string,
  apiKey: string,
  sessionId: string,
  expected: { userTexts: string[]; toolNames: string[] },
): Promise<Check> {
  const name = "the gateway stored both turns with their tool calls";
  const res = await fetch(`${gatewayUrl}/v1/sessions/${encodeURIComponent(sessionId)}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  const text = await res.text();
  if (res.status !== 200)
    return {
      name,
      pass: false,
      detail: `GET /v1/sessions/${sessionId}: ${res.status} ${text.slice(0, 200)}`,
    };
  const missing = [...expected.userTexts, ...expected.toolNames].filter((s) => !text.includes(s));
  return {
    name,
    pass: missing.length === 0,
    detail:
      missing.length === 0
        ? `session ${sessionId} holds both turns`
        : `session ${sessionId} lacks ${missing.map((m) => JSON.stringify(m)).join(", ")}`,
  };
}
