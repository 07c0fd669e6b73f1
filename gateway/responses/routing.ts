/** What routing reads from a Responses API request (routeModel, router aliases). */
import { chainOf } from "./chain.ts";

/** The session of the chain a `previous_response_id` continues, for replica stickiness. */
export function responsesChain(body: Record<string, unknown>): string | undefined {
  const previous = body["previous_response_id"];
  return typeof previous === "string" ? chainOf(previous) : undefined;
}

/**
 * The request as a router alias's rules read a chat request: input items as messages,
 * `instructions` as the system message, `reasoning.effort` as `reasoning_effort`. Only the new
 * input counts (the rebuilt context is not known yet; the chain's session keeps the model).
 */
export function responsesRoutingView(body: Record<string, unknown>): Record<string, unknown> {
  const input = body["input"];
  const items =
    typeof input === "string" ? [{ role: "user", content: input }] : (input as Record<string, unknown>[]);
  const messages: Record<string, unknown>[] = [];
  if (typeof body["instructions"] === "string")
    messages.push({ role: "system", content: body["instructions"] });
  for (const item of items) {
    const type = item["type"] ?? "message";
    if (type === "message") messages.push({ role: item["role"], content: partsAsChat(item["content"]) });
    else if (type === "function_call_output")
      messages.push({ role: "tool", content: String(item["output"] ?? "") });
    else if (type === "function_call") messages.push({ role: "assistant", content: "" });
  }
  const effort = (body["reasoning"] as { effort?: unknown } | null | undefined)?.effort;
  return {
    ...body,
    messages,
    ...(typeof effort === "string" ? { reasoning_effort: effort } : {}),
  };
}

/** Responses content parts (`input_text`, `input_image`) as chat parts (`text`, `image_url`). */
function partsAsChat(content: unknown): unknown {
  if (!Array.isArray(content)) return content;
  return content.map((p: Record<string, unknown>) =>
    p?.["type"] === "input_image"
      ? { type: "image_url", image_url: { url: p["image_url"] } }
      : { type: "text", text: p?.["text"] },
  );
}
