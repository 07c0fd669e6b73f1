import { completionBudget } from "../chatPlan.ts";
import { DONE_FRAME, type Frame, LLAMACPP_FINGERPRINT, usageJson } from "../chatRender.ts";
import { badRequest } from "../errors.ts";
import type { ActiveFaults } from "../faults.ts";
import { generateText } from "../generator.ts";
import { runInference } from "../inference.ts";
import { createRng, hashString } from "../prng.ts";
import type { Exchange, SimState } from "../state.ts";
import { countTokens, splitTokens, takeTokens } from "../tokens.ts";
import { checkModel, includeUsage, nowSeconds, responseId } from "./common.ts";

interface TextChoice {
  text: string;
  finishReason: "stop" | "length";
  stopReason: string | null;
  tokens: number;
}

/** `prompt` may be a string, strings, token ids or lists of token ids. */
function promptTexts(prompt: unknown): string[] {
  if (typeof prompt === "string") return [prompt];
  if (Array.isArray(prompt) && prompt.length > 0) {
    if (prompt.every((p) => typeof p === "string")) return prompt as string[];
    if (prompt.every((p) => typeof p === "number"))
      return [(prompt as number[]).map((t) => `t${t}`).join(" ")];
    if (prompt.every((p) => Array.isArray(p)))
      return (prompt as number[][]).map((ids) => ids.map((t) => `t${t}`).join(" "));
  }
  throw badRequest("prompt: Either prompt or prompt_embeds must be provided and non-empty.", "prompt");
}

function planText(seed: number, budget: number, stop: unknown): TextChoice {
  const rng = createRng(seed);
  let out = generateText(rng, rng.int(16, 40));
  const stops = typeof stop === "string" ? [stop] : Array.isArray(stop) ? (stop as string[]) : [];
  for (const s of stops) {
    const at = s ? out.indexOf(s) : -1;
    if (at >= 0)
      return {
        text: out.slice(0, at),
        finishReason: "stop",
        stopReason: s,
        tokens: countTokens(out.slice(0, at)),
      };
  }
  const tokens = countTokens(out);
  if (tokens > budget) {
    out = takeTokens(out, budget);
    return { text: out, finishReason: "length", stopReason: null, tokens: budget };
  }
  return { text: out, finishReason: "stop", stopReason: null, tokens };
}

export async function handleCompletions(
  state: SimState,
  body: Record<string, unknown>,
  faults: Readonly<ActiveFaults>,
  ex: Exchange,
): Promise<void> {
  checkModel(state, body["model"], "completions");
  const prompts = promptTexts(body["prompt"]);
  const n = typeof body["n"] === "number" && body["n"] >= 1 ? Math.floor(body["n"]) : 1;
  const maxTokens = typeof body["max_tokens"] === "number" ? body["max_tokens"] : 16;
  const llama = state.engine === "llamacpp";
  let promptTokens = 0;
  const choices: TextChoice[] = [];
  for (const p of prompts) {
    const pt = countTokens(p) + 1;
    promptTokens += pt;
    const budget = completionBudget(state.preset.contextLength, pt, maxTokens);
    const seed = hashString(
      JSON.stringify([state.preset.id, p, body["seed"] ?? null, body["temperature"] ?? null]),
    );
    for (let i = 0; i < n; i++) choices.push(planText(seed + i * 0x9e3779b9, budget, body["stop"]));
  }
  const completionTokens = choices.reduce((sum, c) => sum + c.tokens, 0);
  const id = responseId("cmpl-");
  const created = nowSeconds();
  const model = state.preset.id;
  const usage = usageJson(state.engine, promptTokens, completionTokens);
  const common = { promptTokens, completionTokens, finishReason: choices[0]?.finishReason ?? "stop" };
  const extra = llama ? {} : { logprobs: null };

  if (body["stream"] !== true) {
    const json = JSON.stringify({
      id,
      object: "text_completion",
      created,
      model,
      ...(llama ? { system_fingerprint: LLAMACPP_FINGERPRINT } : {}),
      choices: choices.map((c, index) => ({
        index,
        text: c.text,
        ...extra,
        finish_reason: c.finishReason,
        ...(llama ? {} : { stop_reason: c.stopReason, prompt_logprobs: null }),
      })),
      usage,
      ...(llama ? {} : { service_tier: null, system_fingerprint: null, kv_transfer_params: null }),
    });
    await runInference(state, ex, faults, { ...common, stream: false, json });
    return;
  }
  const head = `data: {"id":"${id}","object":"text_completion","created":${created},"model":${JSON.stringify(model)},"choices":[`;
  const frames: Frame[] = [];
  const perChoice = choices.map((c) => splitTokens(c.text));
  const steps = Math.max(0, ...perChoice.map((p) => p.length));
  const tail = llama ? "" : ',"logprobs":null';
  for (let step = 0; step < steps; step++) {
    perChoice.forEach((pieces, index) => {
      const piece = pieces[step];
      if (piece === undefined) return;
      const stop = llama ? "" : ',"stop_reason":null';
      frames.push({
        data: `${head}{"index":${index},"text":${JSON.stringify(piece)}${tail},"finish_reason":null${stop}}]}\n\n`,
        tokens: 1,
      });
    });
  }
  choices.forEach((c, index) => {
    const stop = llama ? "" : `,"stop_reason":${JSON.stringify(c.stopReason)}`;
    frames.push({
      data: `${head}{"index":${index},"text":""${tail},"finish_reason":"${c.finishReason}"${stop}}]}\n\n`,
      tokens: 0,
    });
  });
  if (includeUsage(body["stream_options"]))
    frames.push({ data: `${head}],"usage":${JSON.stringify(usage)}}\n\n`, tokens: 0 });
  frames.push(DONE_FRAME);
  await runInference(state, ex, faults, { ...common, stream: true, frames });
}
