/**
 * What the rules look at, read once from a chat request. Pure: the explain route and
 * real routing call the same function, so they cannot disagree about a request.
 */

export interface RequestFeatures {
  /** Estimated from the text of all messages and tool definitions (about 4 characters a token). */
  promptTokens: number;
  tools: boolean;
  responseFormat: boolean;
  reasoning: boolean;
  reasoningEffort: string | null;
  images: boolean;
  /** The last user message's text (first 4,000 characters: rules look for hints, not essays). */
  lastUserMessage: string;
  messages: number;
  /** The `x-gonka-tier` header, when it is `economy` or `premium`. */
  tierHint: "economy" | "premium" | null;
  keyTier: string | null;
}

const CHARS_PER_TOKEN = 4;
const LAST_MESSAGE_CHARS = 4_000;
const REASONING_EFFORTS = new Set(["low", "medium", "high"]);

export function requestFeatures(
  body: Record<string, unknown>,
  context: { tierHint?: string | undefined; keyTier?: string | null | undefined },
): RequestFeatures {
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as unknown[]) : [];
  const tools = Array.isArray(body["tools"]) ? body["tools"] : [];
  let chars = tools.length > 0 ? JSON.stringify(tools).length : 0;
  let images = false;
  let lastUser = "";
  for (const m of messages) {
    const message = (m ?? {}) as Record<string, unknown>;
    const { text, hasImage } = contentText(message["content"]);
    chars += text.length;
    images ||= hasImage;
    if (message["role"] === "user") lastUser = text;
  }
  const format = body["response_format"] as { type?: unknown } | undefined;
  const effort = typeof body["reasoning_effort"] === "string" ? body["reasoning_effort"] : null;
  const kwargs = (body["chat_template_kwargs"] ?? {}) as Record<string, unknown>;
  const hint = context.tierHint;
  return {
    promptTokens: Math.ceil(chars / CHARS_PER_TOKEN),
    tools: tools.length > 0 && body["tool_choice"] !== "none",
    responseFormat: format !== undefined && format !== null && format.type !== "text",
    reasoning:
      (effort !== null && REASONING_EFFORTS.has(effort)) ||
      kwargs["thinking"] === true ||
      kwargs["enable_thinking"] === true,
    reasoningEffort: effort,
    images,
    lastUserMessage: lastUser.slice(0, LAST_MESSAGE_CHARS),
    messages: messages.length,
    tierHint: hint === "economy" || hint === "premium" ? hint : null,
    keyTier: context.keyTier ?? null,
  };
}

/** Text of a message's content, a string or an array of parts; whether a part is an image. */
function contentText(content: unknown): { text: string; hasImage: boolean } {
  if (typeof content === "string") return { text: content, hasImage: false };
  if (!Array.isArray(content)) return { text: "", hasImage: false };
  let text = "";
  let hasImage = false;
  for (const part of content as Record<string, unknown>[]) {
    if (part?.["type"] === "text" && typeof part["text"] === "string")
      text += `${text ? "\n" : ""}${part["text"]}`;
    if (part?.["type"] === "image_url" || part?.["type"] === "input_image") hasImage = true;
  }
  return { text, hasImage };
}
