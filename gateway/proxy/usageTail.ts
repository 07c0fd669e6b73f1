/**
 * The `usage` object of a chat completion or embeddings answer, read from the answer's tail
 * instead of parsing all of it. Metering needs only `usage`, and a full JSON.parse costs in
 * proportion to the answer: a few µs for a short reply, far more for a long one or for an
 * embeddings list of thousands of floats.
 *
 * Why the last `"usage"` key is the answer's own: inside JSON strings every `"` is escaped,
 * so `"usage"` followed by `:` is always an object key, and in these answers no object
 * nested in the fields after `usage` has such a key (vLLM, llama.cpp and SGLang put `usage`
 * after `choices`/`data`; message content and tool-call arguments are strings). Responses-API
 * answers are excluded by the caller: they echo client JSON (tool schemas, metadata).
 *
 * Returns undefined whenever it cannot be sure, and the caller parses the whole answer:
 * no `usage` key, a body that does not look like one JSON object, an object that does not
 * parse, or one without a numeric `prompt_tokens`.
 */
export function usageFromTail(text: string): Record<string, unknown> | null | undefined {
  if (!looksLikeObject(text)) return undefined;
  const key = text.lastIndexOf('"usage"');
  if (key < 0) return undefined;
  let i = skipSpace(text, key + 7);
  if (text[i] !== ":") return undefined;
  i = skipSpace(text, i + 1);
  let end: number;
  if (text.startsWith("null", i)) end = i + 4;
  else if (text[i] === "{") {
    end = objectEnd(text, i);
    if (end < 0) return undefined;
  } else return undefined;
  // What follows a member's value in an object: another member or the object's end.
  const after = text[skipSpace(text, end)];
  if (after !== "," && after !== "}") return undefined;
  if (end === i + 4) return null;
  let usage: unknown;
  try {
    usage = JSON.parse(text.slice(i, end));
  } catch {
    return undefined;
  }
  const u = usage as Record<string, unknown>;
  return typeof u["prompt_tokens"] === "number" ? u : undefined;
}

function looksLikeObject(text: string): boolean {
  const first = skipSpace(text, 0);
  let last = text.length - 1;
  while (last > first && isSpace(text.charCodeAt(last))) last--;
  return text[first] === "{" && text[last] === "}";
}

/** The index just past the object starting at `start` (strings and escapes skipped), or -1. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
