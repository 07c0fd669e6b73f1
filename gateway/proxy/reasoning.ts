export type ReasoningOutput = "both" | "reasoning" | "reasoning_content";
type Fields = Record<string, unknown>;

// A `reasoning` or `reasoning_content` key whose value is a string. In JSON text a quote inside a
// string is escaped, so this cannot match inside content or tool arguments; a match only means
// "parse and look" (normaliseReasoningOut decides), and a miss means no such field holds text.
const REASONING_TEXT = /"reasoning(?:_content)?"\s*:\s*"/;

/**
 * Whether an answer or event may carry reasoning text to normalise. vLLM writes
 * `"reasoning":null` into every non-streamed message, so testing for the key alone would
 * send every answer through a full parse for nothing.
 */
export function mayCarryReasoning(json: string): boolean {
  return REASONING_TEXT.test(json);
}

/**
 * Puts reasoning text in the field(s) clients were promised, whichever field the
 * backend used (vLLM >= 0.16 `reasoning`, llama.cpp and older vLLM `reasoning_content`).
 * Mutates and returns whether anything changed.
 */
export function normaliseReasoningOut(target: Fields, mode: ReasoningOutput): boolean {
  const r = target["reasoning"];
  const rc = target["reasoning_content"];
  const text = typeof r === "string" ? r : typeof rc === "string" ? rc : null;
  if (text === null) return false;
  if (mode === "both") {
    if (r === text && rc === text) return false;
    target["reasoning"] = text;
    target["reasoning_content"] = text;
  } else if (mode === "reasoning") {
    if (r === text && !("reasoning_content" in target)) return false;
    target["reasoning"] = text;
    delete target["reasoning_content"];
  } else {
    if (rc === text && !("reasoning" in target)) return false;
    target["reasoning_content"] = text;
    delete target["reasoning"];
  }
  return true;
}

/**
 * Assistant turns sent back by clients may carry reasoning in either field; the
 * backend only reads one (vLLM >= 0.16 ignores `reasoning_content`).
 */
export function normaliseReasoningIn(
  messages: unknown,
  backendField: "reasoning" | "reasoning_content",
): boolean {
  if (!Array.isArray(messages)) return false;
  let changed = false;
  const other = backendField === "reasoning" ? "reasoning_content" : "reasoning";
  for (const m of messages as Fields[]) {
    if (m?.["role"] !== "assistant" || !(other in m)) continue;
    if (typeof m[backendField] !== "string" && typeof m[other] === "string") m[backendField] = m[other];
    delete m[other];
    changed = true;
  }
  return changed;
}
