import type { Rng } from "./prng.ts";

// Words of at most six letters, so each generated word is exactly one token.
const WORDS = [
  "the",
  "model",
  "answer",
  "is",
  "a",
  "clear",
  "short",
  "reply",
  "to",
  "your",
  "query",
  "we",
  "can",
  "see",
  "that",
  "this",
  "works",
  "well",
  "for",
  "most",
  "cases",
  "and",
  "it",
  "will",
  "help",
  "you",
  "plan",
  "next",
  "steps",
  "data",
  "shows",
  "simple",
  "result",
  "here",
  "with",
  "some",
  "detail",
  "about",
  "task",
  "agent",
  "tool",
  "output",
  "check",
  "value",
  "note",
  "every",
  "item",
  "list",
  "good",
  "fast",
  "safe",
  "run",
  "test",
  "again",
  "later",
  "first",
  "then",
  "also",
  "more",
  "less",
] as const;

const THOUGHTS = [
  "let",
  "me",
  "think",
  "about",
  "what",
  "the",
  "user",
  "wants",
  "here",
  "maybe",
  "should",
  "check",
  "first",
  "then",
  "answer",
  "the",
  "query",
  "step",
  "by",
  "step",
  "ok",
  "so",
  "plan",
  "is",
] as const;

/** Prose of exactly `tokens` tokens under the simulator's tokenizer. */
export function generateText(rng: Rng, tokens: number, vocabulary: readonly string[] = WORDS): string {
  let out = "";
  let used = 0;
  let sentenceStart = true;
  while (used < tokens) {
    const remaining = tokens - used;
    // End a sentence now and then; a period is its own token.
    if (!sentenceStart && remaining >= 2 && rng.next() < 0.12) {
      out += ".";
      used++;
      sentenceStart = true;
      continue;
    }
    let word = rng.pick(vocabulary);
    if (sentenceStart) word = word[0]!.toUpperCase() + word.slice(1);
    out += out === "" ? word : ` ${word}`;
    used++;
    sentenceStart = false;
  }
  return out;
}

export function generateReasoning(rng: Rng, tokens: number): string {
  return generateText(rng, tokens, THOUGHTS);
}

export function generateWords(rng: Rng, count: number): string {
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(rng.pick(WORDS));
  return words.join(" ");
}
