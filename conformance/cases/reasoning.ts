/** Reasoning (thinking) output: in its own fields, never in content, off when asked. */
import { checkReasoningSeparated } from "../lib/checks.ts";
import { chatView, streamView } from "./tools.ts";
import { type Case, THINKING_OFF, THINKING_ON } from "./types.ts";

const ask = [{ role: "user", content: "Is 17 a prime number? Answer briefly." }];

/** Thinking on (non-stream and stream) and off, per reasoning-capable model. */
export function reasoningCasesFor(model: string): Case[] {
  return [
    {
      name: `thinking on: reasoning text in "reasoning" and "reasoning_content", none in content [${model}]`,
      async run(s) {
        checkReasoningSeparated(await chatView(s, { model, messages: ask, ...THINKING_ON }), true);
      },
    },
    {
      name: `thinking on, streamed: reasoning deltas in both fields, none in content [${model}]`,
      async run(s) {
        checkReasoningSeparated(
          await streamView(s, { model, messages: ask, ...THINKING_ON }),
          true,
          "stream",
        );
      },
    },
    {
      name: `thinking off (chat_template_kwargs): no reasoning text at all [${model}]`,
      async run(s) {
        checkReasoningSeparated(await chatView(s, { model, messages: ask, ...THINKING_OFF }), false);
        checkReasoningSeparated(
          await streamView(s, { model, messages: ask, ...THINKING_OFF }),
          false,
          "stream",
        );
      },
    },
  ];
}
