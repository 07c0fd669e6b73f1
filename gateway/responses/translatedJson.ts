/**
 * A non-streamed chat completion from an engine without `/v1/responses`, answered as a Response
 * through the translation (translator.ts). Metered from the translated Response's usage;
 * the state step's observer stores and may replace the Response before its bytes go out.
 */
import type { ServerResponse } from "node:http";
import { errors } from "../errors.ts";
import { usageFromOpenAI } from "../outcome.ts";
import type { OutcomeRecorder } from "../proxy/requestOutcome.ts";
import type { ReplyObserver } from "../state.ts";
import type { UpstreamResponse } from "../upstream/callUpstream.ts";
import { normaliseResponse } from "./normalise.ts";
import type { ResponsesTranslator, TranslationContext } from "./translator.ts";

export async function relayTranslatedJson(
  res: ServerResponse,
  upstream: UpstreamResponse,
  recorder: OutcomeRecorder,
  options: { translator: ResponsesTranslator; ctx: TranslationContext; observer?: ReplyObserver | undefined },
): Promise<void> {
  let chat: Record<string, unknown>;
  try {
    chat = (await upstream.body.json()) as Record<string, unknown>;
  } catch {
    throw errors.upstreamFailed("The model backend returned a body that is not JSON.");
  }
  let response = options.translator.toResponse(chat, options.ctx);
  normaliseResponse(response);
  // Metered from the Response's usage (input/output/reasoning tokens), as a passthrough is.
  recorder.outcome.usage = usageFromOpenAI(response["usage"]);
  response = (await options.observer?.finish(response)) ?? response;
  const out = Buffer.from(JSON.stringify(response));
  recorder.record(200, null);
  res.writeHead(200, { "content-type": "application/json", "content-length": out.length });
  res.end(out);
}
