/**
 * What the gateway changes in an engine's Responses API output so OpenAI's clients accept it.
 * vLLM 0.20.2 streams a reasoning item's text part as `response.reasoning_part.added`/`.done`,
 * events OpenAI's API does not have: the `openai` SDK's stream accumulator throws on them
 * ("Unhandled response stream event"). OpenAI sends that part as `response.content_part.added`/
 * `.done` with a `reasoning_text` part, so the gateway renames them. It also gives a reasoning
 * item announced with `content: null` an empty list (the SDK appends the part to it), drops the
 * `status: null` vLLM puts on non-final output items (OpenAI's status is an enum, or absent), and
 * adds the `error: null` every OpenAI Response carries. vLLM echoes `tools` as its pydantic dump
 * (`"defer_loading": null`, `"async": null`…, fields OpenAI types as non-null): null fields are
 * dropped there, keeping the nullable `strict` and `parameters` OpenAI requires. A message's
 * text part with `logprobs: null` gets OpenAI's `[]`. vLLM's usage details carry per-turn lists
 * (`input_tokens_per_turn: []`…) beside the counts; the Agents SDK validates the details as a map
 * of numbers and fails the run on them, so lists there are dropped (the totals stay). Everything
 * else passes as the engine sent it.
 */

const RENAMED: Record<string, string> = {
  "response.reasoning_part.added": "response.content_part.added",
  "response.reasoning_part.done": "response.content_part.done",
};

/** Normalises one stream event in place; returns whether anything changed. */
export function normaliseEvent(event: Record<string, unknown>): boolean {
  let changed = false;
  const renamed = RENAMED[event["type"] as string];
  if (renamed) {
    event["type"] = renamed;
    changed = true;
  }
  const item = event["item"] as Record<string, unknown> | undefined;
  if (item && typeof item === "object") changed = normaliseItem(item) || changed;
  const part = event["part"] as Record<string, unknown> | undefined;
  if (part && typeof part === "object") changed = normalisePart(part) || changed;
  const response = event["response"] as Record<string, unknown> | undefined;
  if (response && typeof response === "object") changed = normaliseResponse(response) || changed;
  return changed;
}

/** Normalises a Response object in place; returns whether anything changed. */
export function normaliseResponse(response: Record<string, unknown>): boolean {
  let changed = false;
  if (!("error" in response)) {
    response["error"] = null;
    changed = true;
  }
  for (const item of (response["output"] ?? []) as Record<string, unknown>[]) {
    if (item && typeof item === "object") changed = normaliseItem(item) || changed;
  }
  const usage = response["usage"] as Record<string, unknown> | null | undefined;
  for (const key of ["input_tokens_details", "output_tokens_details"]) {
    const details = usage?.[key] as Record<string, unknown> | undefined;
    if (!details || typeof details !== "object") continue;
    for (const [k, v] of Object.entries(details)) {
      if (Array.isArray(v)) {
        delete details[k];
        changed = true;
      }
    }
  }
  for (const tool of (Array.isArray(response["tools"]) ? response["tools"] : []) as Record<
    string,
    unknown
  >[]) {
    if (tool && typeof tool === "object") changed = normaliseTool(tool) || changed;
  }
  return changed;
}

function normaliseTool(tool: Record<string, unknown>): boolean {
  let changed = false;
  for (const [k, v] of Object.entries(tool)) {
    if (v === null && k !== "strict" && k !== "parameters") {
      delete tool[k];
      changed = true;
    }
  }
  if (tool["type"] === "function") {
    for (const k of ["strict", "parameters"]) {
      if (!(k in tool)) {
        tool[k] = null;
        changed = true;
      }
    }
  }
  return changed;
}

/**
 * Output items: vLLM dumps every field of its pydantic models, unset ones as null (`status`,
 * `namespace` on function calls, `encrypted_content`…) where OpenAI leaves them out; they go.
 */
function normaliseItem(item: Record<string, unknown>): boolean {
  let changed = false;
  for (const [k, v] of Object.entries(item)) {
    if (v === null) {
      delete item[k];
      changed = true;
    }
  }
  if (item["type"] === "reasoning" && !Array.isArray(item["content"])) {
    item["content"] = [];
    changed = true;
  }
  if (item["type"] === "message" && Array.isArray(item["content"])) {
    for (const part of item["content"] as Record<string, unknown>[]) {
      if (part && typeof part === "object") changed = normalisePart(part) || changed;
    }
  }
  return changed;
}

function normalisePart(part: Record<string, unknown>): boolean {
  if (part["type"] === "output_text" && (part["logprobs"] === null || !("logprobs" in part))) {
    part["logprobs"] = [];
    return true;
  }
  return false;
}
