import { errors } from "../errors.ts";
import type { Endpoint } from "../outcome.ts";
import { validateResponsesBody } from "../responses/validate.ts";

type Body = Record<string, unknown>;

/**
 * The checks the gateway makes itself, so that obviously bad requests never reach
 * a GPU. Everything else is the backend's to judge (its 4xx is passed through).
 */
export function validateRequest(endpoint: Endpoint, body: unknown): asserts body is Body & { model: string } {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw errors.invalidRequest("The request body must be a JSON object.");
  }
  const b = body as Body;
  if (typeof b["model"] !== "string" || b["model"].length === 0) {
    throw errors.invalidRequest("You must provide a model parameter.", "model", "missing_required_parameter");
  }
  if (endpoint === "responses") return validateResponsesBody(b);
  if (endpoint === "chat.completions") checkMessages(b["messages"]);
  if (endpoint === "completions") {
    const p = b["prompt"];
    if (!(typeof p === "string" || (Array.isArray(p) && p.length > 0))) {
      throw errors.invalidRequest("'prompt' must be a string or a non-empty array.", "prompt");
    }
  }
  if (endpoint === "embeddings") {
    const input = b["input"];
    if (!(typeof input === "string" || (Array.isArray(input) && input.length > 0))) {
      throw errors.invalidRequest("'input' must be a string or a non-empty array.", "input");
    }
    if (
      b["encoding_format"] !== undefined &&
      b["encoding_format"] !== "float" &&
      b["encoding_format"] !== "base64"
    ) {
      throw errors.invalidRequest("'encoding_format' must be 'float' or 'base64'.", "encoding_format");
    }
    return;
  }
  optionalType(b, "stream", "boolean");
  if (b["stream_options"] !== undefined && b["stream_options"] !== null) {
    if (typeof b["stream_options"] !== "object")
      throw errors.invalidRequest("'stream_options' must be an object.", "stream_options");
    if (b["stream"] !== true) {
      throw errors.invalidRequest(
        "'stream_options' is only allowed when 'stream' is true.",
        "stream_options",
      );
    }
  }
  positiveInt(b, "max_tokens");
  positiveInt(b, "max_completion_tokens");
  range(b, "n", 1, 128, true);
  range(b, "temperature", 0, 2, false);
  range(b, "top_p", 0, 1, false);
  if (b["tools"] !== undefined && b["tools"] !== null) {
    if (!Array.isArray(b["tools"])) throw errors.invalidRequest("'tools' must be an array.", "tools");
    b["tools"].forEach((t, i) => {
      const fn = (t as Body | null)?.["function"] as Body | undefined;
      if (!fn || typeof fn["name"] !== "string" || fn["name"].length === 0) {
        throw errors.invalidRequest(`'tools[${i}].function.name' is required.`, `tools[${i}].function.name`);
      }
    });
  }
}

function checkMessages(messages: unknown): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw errors.invalidRequest("'messages' must be a non-empty array.", "messages");
  }
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Body | null;
    if (!m || typeof m !== "object" || typeof m["role"] !== "string") {
      throw errors.invalidRequest(`'messages[${i}].role' is required.`, `messages[${i}].role`);
    }
  }
}

function optionalType(b: Body, name: string, type: "boolean" | "string"): void {
  if (b[name] !== undefined && b[name] !== null && typeof b[name] !== type) {
    throw errors.invalidRequest(`'${name}' must be a ${type}.`, name);
  }
}

function positiveInt(b: Body, name: string): void {
  const v = b[name];
  if (v === undefined || v === null) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw errors.invalidRequest(`'${name}' must be a positive integer, got ${JSON.stringify(v)}.`, name);
  }
}

function range(b: Body, name: string, min: number, max: number, integer: boolean): void {
  const v = b[name];
  if (v === undefined || v === null) return;
  if (
    typeof v !== "number" ||
    !Number.isFinite(v) ||
    v < min ||
    v > max ||
    (integer && !Number.isInteger(v))
  ) {
    throw errors.invalidRequest(
      `'${name}' must be ${integer ? "an integer" : "a number"} between ${min} and ${max}, got ${JSON.stringify(v)}.`,
      name,
    );
  }
}
