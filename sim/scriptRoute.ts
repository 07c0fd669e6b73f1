import { type ChatPlan, planChat } from "./chatPlan.ts";
import { type ChatRequest, viewConversation } from "./chatRequest.ts";
import { SimError } from "./errors.ts";
import type { ActiveFaults } from "./faults.ts";
import { matchIndex, type ScriptRule } from "./script.ts";
import type { Exchange, SimState } from "./state.ts";

/**
 * What the active script says about one chat request before any reply is planned: counts the hit,
 * and turns a rule's error injection or strict mode's miss into an HTTP error. Returns the rule
 * (null: none matched, the generator answers) and the rule's extra delay.
 */
export function applyScript(
  state: SimState,
  req: ChatRequest,
  sessionId: string | undefined,
): { rule: ScriptRule | null; delayMs: number } {
  const script = state.script;
  if (!script) return { rule: null, delayMs: 0 };
  const view = viewConversation(req, sessionId);
  const at = matchIndex(script, view);
  if (at < 0) {
    script.unmatched++;
    if (script.strict) throw new SimError(400, unmatchedMessage(req));
    return { rule: null, delayMs: 0 };
  }
  const hit = ++script.hits[at]!;
  const rule = script.rules[at]!.rule;
  const label = rule.name ?? `#${at + 1}`;
  if (rule.error?.onHits.includes(hit)) {
    throw new SimError(
      rule.error.status,
      rule.error.message ?? `simulated error: script rule ${label}, hit ${hit}`,
    );
  }
  return { rule, delayMs: rule.delayMs ?? 0 };
}

const SHOWN_MESSAGES = 3;
const SHOWN_CHARS = 100;
/** The gateway passes an engine's 4xx message on up to 500 characters. */
const MAX_MESSAGE = 490;

/** Names the request's last messages, so whoever writes the script sees what to match on. */
export function unmatchedMessage(req: ChatRequest): string {
  const view = viewConversation(req);
  const last = view.messages.slice(-SHOWN_MESSAGES).map((m, i, all) => {
    const raw = req.messages[req.messages.length - all.length + i];
    const calls = (raw?.tool_calls ?? []).map((c) => c.function?.name).filter(Boolean);
    const text = m.text.length > SHOWN_CHARS ? `${m.text.slice(0, SHOWN_CHARS)}…` : m.text;
    return `[${m.role}] ${JSON.stringify(text)}${calls.length > 0 ? ` tool_calls: ${calls.join(", ")}` : ""}`;
  });
  const tools = view.toolNames.length > 0 ? view.toolNames.join(", ") : "none";
  const text = `no simulator script rule matched (strict mode); last messages: ${last.join(" | ")}; turn ${view.turn}; tools offered: ${tools}`;
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

/**
 * The plan of a chat-shaped request (chat completions, and Responses once translated to chat):
 * the script applied under the request's X-Session-Id, and the faults it runs with.
 */
export function planScriptedChat(
  state: SimState,
  req: ChatRequest,
  requestFaults: Readonly<ActiveFaults>,
  ex: Exchange,
): { plan: ChatPlan; faults: Readonly<ActiveFaults> } {
  const header = ex.req.headers["x-session-id"];
  const sessionId = typeof header === "string" && header ? header : undefined;
  const { rule, delayMs } = applyScript(state, req, sessionId);
  // A rule's delay rides on the stall path: before the first byte, cancelled with the request.
  const faults = delayMs > 0 ? { ...requestFaults, stallMs: requestFaults.stallMs + delayMs } : requestFaults;
  const plan = planChat(req, {
    preset: state.preset,
    script: state.script,
    faults,
    matched: rule,
    ...(sessionId ? { sessionId } : {}),
  });
  return { plan, faults };
}
