/**
 * A POST /v1/responses body → a chat-completions request for an engine without the Responses API
 * (llama-server). Every field of the Responses create body is either translated, accepted because
 * it does not change what the engine generates (it is echoed or handled by the gateway), or
 * refused with a 400 naming it: a client never gets a silently different answer.
 */

import { errors } from "../../errors.ts";
import { toChatMessages } from "./input.ts";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Fields the caller handles or that only shape the Response envelope; none reaches the engine. */
const ENVELOPE_ONLY = new Set([
  "model",
  "input",
  "instructions",
  "metadata",
  "store",
  "previous_response_id",
  "user",
  "safety_identifier",
  "prompt_cache_key",
  "prompt_cache_retention",
  "prompt_cache_options",
  "service_tier",
  "stream_options",
  // Caps calls to built-in tools; this engine runs function tools only, so there is nothing to cap.
  "max_tool_calls",
]);

/** Fields translated below. */
const TRANSLATED = new Set([
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "max_output_tokens",
  "temperature",
  "top_p",
  "text",
  "reasoning",
  "stream",
  "include",
  "truncation",
  "background",
  "top_logprobs",
]);

/** Features of the Responses API a chat engine cannot provide: refused when set. */
const REFUSED: Record<string, string> = {
  conversation: "Conversations are not supported; continue with `previous_response_id`.",
  prompt: "Stored prompt templates are not supported; send `instructions` and `input`.",
  context_management: "Server-side context management is not supported by this model's engine.",
  moderation: "Moderation of responses is not supported by this model's engine.",
};

/**
 * Sampling fields outside OpenAI's spec that vLLM's own /v1/responses accepts: passed through so a
 * request means the same on either engine.
 */
const ENGINE_EXTRAS = [
  "top_k",
  "min_p",
  "repetition_penalty",
  "presence_penalty",
  "frequency_penalty",
  "seed",
  "stop",
];

/** `include` values that ask for nothing this translation would leave out. */
const INCLUDE_OK = new Set([
  // Reasoning items come back with their text in the clear and are accepted back as input, so a
  // stateless client (store: false) keeps its reasoning without an encrypted copy.
  "reasoning.encrypted_content",
  "message.input_image.image_url",
]);

export function toChatRequest(body: Record<string, unknown>, input: unknown[]): Record<string, unknown> {
  for (const key of Object.keys(body)) {
    if (body[key] == null) continue;
    if (key in REFUSED) throw errors.invalidRequest(REFUSED[key]!, key, "unsupported_parameter");
    if (!ENVELOPE_ONLY.has(key) && !TRANSLATED.has(key) && !ENGINE_EXTRAS.includes(key)) {
      throw errors.invalidRequest(`Unrecognized request argument supplied: ${key}`, key, "unknown_parameter");
    }
  }
  const chat: Json = {
    model: body["model"],
    messages: toChatMessages(input, body["instructions"]),
  };
  for (const key of ["temperature", "top_p", "parallel_tool_calls", ...ENGINE_EXTRAS]) {
    if (body[key] != null) chat[key] = body[key];
  }
  if (body["max_output_tokens"] != null) chat["max_tokens"] = body["max_output_tokens"];
  if (body["stream"] === true) {
    chat["stream"] = true;
    // response.completed carries usage, so the engine must send its usage chunk.
    chat["stream_options"] = { include_usage: true };
  }
  Object.assign(chat, tools(body["tools"], body["tool_choice"]));
  const format = responseFormat(body["text"]);
  if (format) chat["response_format"] = format;
  const thinking = thinkingKwargs(body["reasoning"]);
  if (thinking) chat["chat_template_kwargs"] = thinking;
  checkUnsupportedValues(body);
  return chat;
}

function checkUnsupportedValues(body: Json): void {
  if (body["background"] === true) {
    throw errors.invalidRequest(
      "Background responses are not supported by this model's engine.",
      "background",
    );
  }
  if (body["truncation"] != null && body["truncation"] !== "disabled") {
    throw errors.invalidRequest(
      "Only `truncation: disabled` is supported: this engine cannot drop input items to fit its context.",
      "truncation",
    );
  }
  const top = body["top_logprobs"];
  if (top != null && top !== 0) {
    throw errors.invalidRequest(
      "Log probabilities are not supported by this model's engine.",
      "top_logprobs",
    );
  }
  const include = body["include"];
  if (include != null) {
    if (!Array.isArray(include)) throw errors.invalidRequest("`include` must be a list.", "include");
    include.forEach((v, i) => {
      if (!INCLUDE_OK.has(String(v))) {
        throw errors.invalidRequest(
          `\`include\` value \`${String(v)}\` is not supported by this model's engine.`,
          `include[${i}]`,
        );
      }
    });
  }
}

/** Responses' flat function tools → chat's nested ones; every other tool type is refused by name. */
function tools(list: unknown, choice: unknown): Json {
  const out: Json = {};
  let defs: Json[] = [];
  if (list != null) {
    if (!Array.isArray(list)) throw errors.invalidRequest("`tools` must be a list.", "tools");
    defs = list.map((tool, i) => functionTool(tool, `tools[${i}]`));
    if (defs.length) out["tools"] = defs;
  }
  if (choice == null) return out;
  if (choice === "auto" || choice === "none" || choice === "required") {
    out["tool_choice"] = choice;
    return out;
  }
  if (isObject(choice) && choice["type"] === "function" && typeof choice["name"] === "string") {
    out["tool_choice"] = { type: "function", function: { name: choice["name"] } };
    return out;
  }
  if (isObject(choice) && choice["type"] === "allowed_tools" && Array.isArray(choice["tools"])) {
    // Chat has no allowed-tools form: offering only the allowed functions has the same effect.
    const allowed = new Set<string>();
    (choice["tools"] as unknown[]).forEach((t, i) => {
      if (!isObject(t) || t["type"] !== "function" || typeof t["name"] !== "string") {
        throw errors.invalidRequest("Only function tools can be allowed.", `tool_choice.tools[${i}]`);
      }
      allowed.add(t["name"]);
    });
    out["tools"] = defs.filter((d) => allowed.has((d["function"] as Json)["name"] as string));
    out["tool_choice"] = choice["mode"] === "required" ? "required" : "auto";
    return out;
  }
  const type = isObject(choice) ? String(choice["type"]) : JSON.stringify(choice);
  throw errors.invalidRequest(
    `\`tool_choice\` of type \`${type}\` is not supported by this model's engine; use auto, none, required, a function or allowed_tools.`,
    "tool_choice",
  );
}

function functionTool(tool: unknown, param: string): Json {
  if (!isObject(tool)) throw errors.invalidRequest(`\`${param}\` must be a tool object.`, param);
  if (tool["type"] !== "function") {
    throw errors.invalidRequest(
      `Tools of type \`${String(tool["type"])}\` are not supported by this model's engine; only \`function\` tools are.`,
      `${param}.type`,
      "unsupported_tool_type",
    );
  }
  if (tool["defer_loading"] === true) {
    throw errors.invalidRequest(
      "Deferred tool loading (tool search) is not supported by this model's engine.",
      `${param}.defer_loading`,
    );
  }
  if (typeof tool["name"] !== "string" || !tool["name"]) {
    throw errors.invalidRequest(`\`${param}.name\` must be a non-empty string.`, `${param}.name`);
  }
  const fn: Json = { name: tool["name"] };
  if (typeof tool["description"] === "string") fn["description"] = tool["description"];
  if (tool["parameters"] != null) fn["parameters"] = tool["parameters"];
  if (typeof tool["strict"] === "boolean") fn["strict"] = tool["strict"];
  return { type: "function", function: fn };
}

/** `text.format` → chat's response_format; `text.verbosity` other than the default is refused. */
function responseFormat(text: unknown): Json | null {
  if (text == null) return null;
  if (!isObject(text)) throw errors.invalidRequest("`text` must be an object.", "text");
  const verbosity = text["verbosity"];
  if (verbosity != null && verbosity !== "medium") {
    throw errors.invalidRequest(
      "`text.verbosity` is not supported by this model's engine.",
      "text.verbosity",
    );
  }
  const format = text["format"];
  if (format == null) return null;
  if (!isObject(format)) throw errors.invalidRequest("`text.format` must be an object.", "text.format");
  switch (format["type"]) {
    case "text":
      return null;
    case "json_object":
      return { type: "json_object" };
    case "json_schema": {
      if (typeof format["name"] !== "string" || !isObject(format["schema"])) {
        throw errors.invalidRequest(
          "`text.format` of type json_schema needs a `name` and a `schema`.",
          "text.format",
        );
      }
      const schema: Json = { name: format["name"], schema: format["schema"] };
      if (typeof format["description"] === "string") schema["description"] = format["description"];
      if (typeof format["strict"] === "boolean") schema["strict"] = format["strict"];
      return { type: "json_schema", json_schema: schema };
    }
  }
  throw errors.invalidRequest(
    `\`text.format\` of type \`${String(format["type"])}\` is not supported.`,
    "text.format.type",
  );
}

const EFFORTS = new Set(["none", "minimal", "low", "medium", "high", "xhigh", "max"]);

/**
 * `reasoning.effort` → thinking on or off, the one reasoning control open models have. The
 * platform switches it through the chat template: K2.5's template reads `thinking`, Qwen3 and
 * DeepSeek read `enable_thinking` (what the tiering classifier sends too). No effort means the
 * model's default.
 */
function thinkingKwargs(reasoning: unknown): Json | null {
  if (reasoning == null) return null;
  if (!isObject(reasoning)) throw errors.invalidRequest("`reasoning` must be an object.", "reasoning");
  const effort = reasoning["effort"];
  if (effort == null) return null;
  if (typeof effort !== "string" || !EFFORTS.has(effort)) {
    throw errors.invalidRequest(
      `\`reasoning.effort\` \`${String(effort)}\` is not a known effort.`,
      "reasoning.effort",
    );
  }
  const on = effort !== "none" && effort !== "minimal";
  return { thinking: on, enable_thinking: on };
}
