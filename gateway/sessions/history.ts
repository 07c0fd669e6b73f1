/**
 * How a request's messages meet the stored conversation. Pure: no store, no HTTP.
 *
 * Clients come in two habits. Most agent frameworks (LangGraph, CrewAI, OpenClaw, the
 * Vercel AI SDK) re-send the whole history each turn; simple clients send only the new
 * messages. The rule, by the longest common prefix (LCP) of stored and sent messages:
 *
 * - stored is a prefix of sent → the client re-sent everything: the prompt is what it
 *   sent, and only the messages after the stored ones are new (nothing duplicated);
 * - sent shares at least one conversation message (beyond leading system/developer
 *   messages) with stored, then differs → the client's history diverged (edited,
 *   truncated, an answer regenerated): a fork. The prompt is what it sent, and the
 *   session keeps the common prefix and follows the client from there;
 * - sent opens with a system/developer prompt other than the stored one → a new
 *   conversation on the same id (a crew's next agent, say): the client sent a whole
 *   history, so this is a fork from the start; the session follows the client;
 * - otherwise → the client sent only new messages: the prompt is the stored history
 *   followed by them (a system prompt it repeats, equal to the stored one, is dropped).
 */

export type Message = Record<string, unknown>;

export interface HistoryPlan {
  /** The messages the backend gets. */
  prompt: Message[];
  /** Stored messages kept (a prefix of the stored list). */
  keep: number;
  /** Messages to store after the kept ones, before the reply. */
  added: Message[];
  /** How the request was read, for logs and tests. */
  mode: "new" | "resent" | "fork";
}

export function planHistory(stored: readonly Message[], sent: readonly Message[]): HistoryPlan {
  const lcp = commonPrefix(stored, sent);
  if (lcp === stored.length) {
    return { prompt: [...sent], keep: stored.length, added: sent.slice(lcp), mode: "resent" };
  }
  if (lcp > leadingSystem(stored) || (lcp === 0 && leadingSystem(sent) > 0)) {
    return { prompt: [...sent], keep: lcp, added: sent.slice(lcp), mode: "fork" };
  }
  const added = sent.slice(lcp);
  return { prompt: [...stored, ...added], keep: stored.length, added, mode: "new" };
}

function commonPrefix(a: readonly Message[], b: readonly Message[]): number {
  let i = 0;
  while (i < a.length && i < b.length && sameMessage(a[i]!, b[i]!)) i++;
  return i;
}

function leadingSystem(messages: readonly Message[]): number {
  let i = 0;
  while (i < messages.length && (messages[i]!["role"] === "system" || messages[i]!["role"] === "developer"))
    i++;
  return i;
}

/**
 * Two messages are the same turn when role, text, name, tool-call id and tool calls
 * (id, function, arguments as JSON) agree. Ignored on purpose: reasoning (many clients
 * drop it when they send history back), null fields and JSON formatting of arguments
 * (some clients re-serialise them), which do not make a different conversation.
 */
export function sameMessage(a: Message, b: Message): boolean {
  return messageKey(a) === messageKey(b);
}

export function messageKey(m: Message): string {
  const calls = Array.isArray(m["tool_calls"]) ? (m["tool_calls"] as Message[]) : [];
  return JSON.stringify([
    m["role"],
    text(m["content"]),
    m["name"] ?? null,
    m["tool_call_id"] ?? null,
    calls.map((c) => {
      const fn = (c?.["function"] ?? {}) as Message;
      return [c?.["id"] ?? null, fn["name"] ?? null, canonicalArguments(fn["arguments"])];
    }),
  ]);
}

function text(content: unknown): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content) && content.every((p) => (p as Message)?.["type"] === "text")) {
    return content.map((p) => String((p as Message)["text"] ?? "")).join("");
  }
  return stableJson(content);
}

function canonicalArguments(args: unknown): string {
  if (typeof args !== "string") return stableJson(args ?? null);
  try {
    return stableJson(JSON.parse(args));
  } catch {
    return args;
  }
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Message)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
