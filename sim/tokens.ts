/**
 * A deterministic stand-in tokenizer: words are split into pieces of up to six
 * word characters (with one leading space), punctuation is one token each and
 * runs of whitespace are one token. It is not any model's tokenizer; it only has
 * to be consistent, so prompt, completion, streamed and non-streamed usage agree.
 */

const MAX_WORD_PIECE = 6;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isWord(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** Calls `onToken(start, end)` for each token; the tokens cover `text` exactly. Returns the count. */
function scan(text: string, onToken?: (start: number, end: number) => void): number {
  const len = text.length;
  let i = 0;
  let count = 0;
  while (i < len) {
    const start = i;
    let c = text.charCodeAt(i);
    if (isSpace(c)) {
      const next = i + 1 < len ? text.charCodeAt(i + 1) : -1;
      if (next === -1 || isSpace(next)) {
        while (i < len && isSpace(text.charCodeAt(i))) i++;
        count++;
        onToken?.(start, i);
        continue;
      }
      i++;
      c = next;
    }
    if (isWord(c)) {
      const limit = Math.min(len, i + MAX_WORD_PIECE);
      while (i < limit && isWord(text.charCodeAt(i))) i++;
    } else {
      // Keep surrogate pairs together so pieces are valid strings.
      i += c >= 0xd800 && c <= 0xdbff && i + 1 < len ? 2 : 1;
    }
    count++;
    onToken?.(start, i);
  }
  return count;
}

export function countTokens(text: string): number {
  return scan(text);
}

/** Splits text into token pieces whose concatenation is the original text. */
export function splitTokens(text: string): string[] {
  const pieces: string[] = [];
  scan(text, (s, e) => pieces.push(text.slice(s, e)));
  return pieces;
}

/** The first `max` tokens of `text`. */
export function takeTokens(text: string, max: number): string {
  if (max <= 0) return "";
  let end = text.length;
  let seen = 0;
  scan(text, (_s, e) => {
    seen++;
    if (seen === max) end = e;
  });
  return seen <= max ? text : text.slice(0, end);
}
