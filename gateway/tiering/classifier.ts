/**
 * The optional classifier step: a cheap model asked for a one-word verdict on the last
 * user message, through the gateway's own upstream path (its replicas, retries, engine
 * key). Bounded by the router's timeout; slow, failing or off-list answers are "unsure"
 * (null) and routing goes on without them. Its tokens are metered to the caller's key
 * like any request: a usage row with `model_requested` `<alias>:classifier`.
 */
import type { Logger } from "pino";
import { newOutcome, type OutcomeSink, usageFromOpenAI } from "../outcome.ts";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import type { GatewayState } from "../state.ts";
import { callUpstream } from "../upstream/callUpstream.ts";
import type { RouterConfig } from "./schema.ts";

export interface ClassifierDeps {
  readonly registry: ModelRegistry;
  readonly onOutcome: OutcomeSink;
  readonly replicaCooldownMs: number;
  readonly engineApiKey?: string | undefined;
  readonly log: Logger;
}

export async function runClassifier(
  router: RouterConfig,
  lastUserMessage: string,
  state: GatewayState,
  deps: ClassifierDeps,
): Promise<string | null> {
  const classifier = router.classifier!;
  const pool = deps.registry.resolve(classifier.model);
  if (!pool) return null;
  const started = Date.now();
  const outcome = newOutcome({
    requestId: `${state.requestId}-classifier`,
    clientRequestId: state.clientRequestId ?? null,
    endpoint: "chat.completions",
    modelRequested: `${router.alias}:classifier`,
    modelServed: pool.model.id,
    route: "classifier",
    sessionId: state.sessionId ?? null,
    keyId: state.key?.id ?? null,
    tier: state.key?.tier ?? null,
    streamed: false,
  });
  const body = JSON.stringify({
    model: pool.model.id,
    messages: [
      {
        role: "system",
        content: `${classifier.instructions} Answer with exactly one word: ${classifier.labels.join(", ")}.`,
      },
      { role: "user", content: lastUserMessage },
    ],
    max_tokens: 4,
    temperature: 0,
    // A verdict, not a chain of thought: reasoning models answer at once.
    chat_template_kwargs: { thinking: false, enable_thinking: false },
  });
  let verdict: string | null = null;
  try {
    const upstream = await callUpstream({
      pool,
      path: "/v1/chat/completions",
      body,
      stream: false,
      requestId: outcome.requestId,
      sessionId: state.sessionId,
      signal: AbortSignal.timeout(classifier.timeoutMs),
      cooldownMs: deps.replicaCooldownMs,
      engineApiKey: deps.engineApiKey,
    });
    outcome.replica = upstream.replica.id;
    try {
      const text = await upstream.body.text();
      outcome.status = upstream.statusCode;
      if (upstream.statusCode === 200) {
        const json = JSON.parse(text) as { choices?: { message?: { content?: unknown } }[]; usage?: unknown };
        outcome.usage = usageFromOpenAI(json.usage);
        const word = String(json.choices?.[0]?.message?.content ?? "")
          .trim()
          .toLowerCase()
          .match(/^[a-z][a-z0-9_-]*/)?.[0];
        verdict = word && classifier.labels.includes(word) ? word : null;
      } else {
        outcome.errorCode = "classifier_error";
      }
    } finally {
      upstream.release();
    }
  } catch (err) {
    const timedOut = (err as Error).name === "TimeoutError" || (err as Error).name === "AbortError";
    outcome.status = timedOut ? 504 : ((err as { status?: number }).status ?? 502);
    outcome.errorCode = timedOut ? "classifier_timeout" : "classifier_error";
    deps.log.warn(
      { requestId: state.requestId, router: router.alias, err: (err as Error).message },
      "classifier unsure",
    );
  }
  outcome.latencyMs = Date.now() - started;
  deps.onOutcome(outcome);
  return verdict;
}
