import type { ServerResponse } from "node:http";
import { errors } from "../errors.ts";
import { type RequestOutcome, usageFromOpenAI } from "../outcome.ts";
import { readAll } from "../readAll.ts";
import type { ReplyObserver } from "../state.ts";
import type { UpstreamResponse } from "../upstream/callUpstream.ts";
import { mayCarryReasoning, normaliseReasoningOut, type ReasoningOutput } from "./reasoning.ts";
import type { OutcomeRecorder } from "./requestOutcome.ts";
import { usageFromTail } from "./usageTail.ts";

/**
 * Relays a non-streamed answer: reads usage, normalises reasoning fields (and fills the
 * nulls llama-server leaves out), records the outcome, then writes the bytes. Written
 * directly rather than through Koa's respond(): headers set so far (request id, rate
 * limits) are already on `res`, and the body is ready bytes.
 */
export async function relayJson(
  res: ServerResponse,
  upstream: UpstreamResponse,
  recorder: OutcomeRecorder,
  options: {
    reasoningOutput: ReasoningOutput;
    fillNulls: boolean;
    observer?: ReplyObserver | undefined;
    /** Chat completions, completions, embeddings: usage may be read from the tail (usageTail.ts). */
    usageAtTail: boolean;
  },
): Promise<void> {
  const raw = await readAll(upstream.body);
  const text = raw.toString("utf8");
  const hasReasoning = mayCarryReasoning(text);
  const observer = options.observer;
  // Nothing to rewrite and no one to hand the answer to: only usage is needed.
  const usage =
    options.usageAtTail && !observer && !hasReasoning && !options.fillNulls ? usageFromTail(text) : undefined;
  let out: Buffer = raw;
  if (usage !== undefined) recorder.outcome.usage = usageFromOpenAI(usage);
  else {
    const { answer, json } = rewriteJson(
      raw,
      text,
      hasReasoning,
      recorder.outcome,
      options.reasoningOutput,
      options.fillNulls,
    );
    // Before the outcome and the bytes: a turn the session could not store fails the request.
    const replaced = await observer?.finish(json);
    out = replaced ? Buffer.from(JSON.stringify(replaced)) : answer;
  }
  recorder.record(200, null);
  res.writeHead(200, { "content-type": "application/json", "content-length": out.length });
  res.end(out);
}

/** Reads usage and normalises reasoning fields; re-serialises only when something changed. */
function rewriteJson(
  raw: Buffer,
  text: string,
  hasReasoning: boolean,
  outcome: RequestOutcome,
  mode: ReasoningOutput,
  fillNulls: boolean,
): { answer: Buffer; json: Record<string, unknown> } {
  // The backend's bytes go back as they came unless something must change:
  // no re-encoding, and Koa need not measure a string.
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw errors.upstreamFailed("The model backend returned a body that is not JSON.");
  }
  outcome.usage = usageFromOpenAI(json["usage"]);
  if (!hasReasoning && !fillNulls) return { answer: raw, json };
  let changed = false;
  for (const choice of (json["choices"] ?? []) as Record<string, unknown>[]) {
    const message = choice?.["message"] as Record<string, unknown> | undefined;
    if (hasReasoning && message && normaliseReasoningOut(message, mode)) changed = true;
    if (fillNulls && choice && message) changed = fillRequiredNulls(choice, message) || changed;
  }
  return { answer: changed ? Buffer.from(JSON.stringify(json)) : raw, json };
}

/**
 * OpenAI's schema requires `choices[].logprobs` and `message.refusal` (null when
 * unused); llama-server leaves them out, and strict clients reject the answer.
 */
function fillRequiredNulls(choice: Record<string, unknown>, message: Record<string, unknown>): boolean {
  let changed = false;
  if (!("logprobs" in choice)) {
    choice["logprobs"] = null;
    changed = true;
  }
  if (!("refusal" in message)) {
    message["refusal"] = null;
    changed = true;
  }
  return changed;
}
