/**
 * The two requests both benchmarks send (`npm run bench:gateway` and `npm run bench`), so their
 * numbers measure the same work: a short answer from a simulator that answers at once, and a
 * 64-token stream from one spacing tokens 1 ms apart (`--tpot-ms 1`).
 */
export const PATH = "/v1/chat/completions";
/** The simulated model answering at once (non-streamed rows). */
export const FAST = "llama-4-maverick";
/** The simulated model pacing its tokens (streamed rows). */
export const PACED = "qwen3-32b";
export const plainBody = JSON.stringify({
  model: FAST,
  max_tokens: 16,
  messages: [{ role: "user", content: "Say hi" }],
});
export const streamedBody = JSON.stringify({
  model: PACED,
  max_tokens: 64,
  stream: true,
  chat_template_kwargs: { thinking: false },
  messages: [{ role: "user", content: "Tell a story" }],
});
