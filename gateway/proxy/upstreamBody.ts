import type { ModelConfig } from "../config/schema.ts";
import type { Endpoint } from "../outcome.ts";
import { normaliseReasoningIn } from "./reasoning.ts";

/**
 * The body sent to the engine. The client's bytes go untouched unless the engine needs
 * something changed: an alias resolved to the model id, usage asked for on streams (the
 * gateway meters every stream), reasoning moved to the field the engine reads.
 */
export function upstreamBody(
  endpoint: Endpoint,
  model: ModelConfig,
  body: Record<string, unknown>,
  rawBody: Buffer | undefined,
  stream: boolean,
): string | Buffer {
  let changed = false;
  if (body["model"] !== model.id) {
    body["model"] = model.id;
    changed = true;
  }
  const streamOptions = (body["stream_options"] ?? {}) as Record<string, unknown>;
  // Responses streams always end with the usage (in response.completed).
  if (stream && endpoint !== "responses" && streamOptions["include_usage"] !== true) {
    body["stream_options"] = { ...streamOptions, include_usage: true };
    changed = true;
  }
  if (
    endpoint === "chat.completions" &&
    normaliseReasoningIn(body["messages"], model.backendReasoningField)
  ) {
    changed = true;
  }
  return changed || !rawBody ? JSON.stringify(body) : rawBody;
}
