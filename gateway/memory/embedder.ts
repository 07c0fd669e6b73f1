/**
 * Embeds one text with the configured embedding model through the gateway's own routing:
 * the same replica choice, retries and cool-downs as a client's `/v1/embeddings`
 * (upstream/callUpstream.ts), never a backend URL of its own. Each call is one usage row
 * for the calling key (endpoint `embeddings`), so memory's embedding tokens are metered
 * like any other request.
 */
import { generationTimeoutMs } from "../config/schema.ts";
import { errors, toGatewayError } from "../errors.ts";
import { newOutcome, type OutcomeSink, usageFromOpenAI } from "../outcome.ts";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import type { GatewayState } from "../state.ts";
import { callUpstream } from "../upstream/callUpstream.ts";
import { fromUpstreamError } from "../upstream/upstreamError.ts";
import { normalise } from "./vector.ts";

export interface EmbedderOptions {
  registry: ModelRegistry;
  /** The configured `memory.embeddingModel` (id or alias). */
  model: string;
  onOutcome: OutcomeSink;
  replicaCooldownMs: number;
  engineApiKey?: string | undefined;
}

export interface Embedding {
  vector: Float32Array;
  /** The model id that computed it (stored with the item). */
  model: string;
  promptTokens: number;
}

export type Embed = (text: string, state: GatewayState, param: string) => Promise<Embedding>;

export function createEmbedder(opts: EmbedderOptions): Embed {
  return async function embed(text, state, param) {
    const pool = opts.registry.resolve(opts.model);
    if (!pool) throw errors.modelNotFound(opts.model);
    const outcome = newOutcome({
      requestId: state.requestId,
      clientRequestId: state.clientRequestId ?? null,
      endpoint: "embeddings",
      modelRequested: opts.model,
      modelServed: pool.model.id,
      keyId: state.key?.id ?? null,
      tier: state.key?.tier ?? null,
      streamed: false,
    });
    const started = Date.now();
    const finish = (status: number, code: string | null) => {
      outcome.status = status;
      outcome.errorCode = code;
      outcome.latencyMs = Date.now() - started;
      // Admission settles the key's token reservation with this call's real usage.
      state.outcome = outcome;
      opts.onOutcome(outcome);
    };
    try {
      const upstream = await callUpstream({
        pool,
        path: "/v1/embeddings",
        body: JSON.stringify({ model: pool.model.id, input: text }),
        stream: false,
        requestId: state.requestId,
        signal: AbortSignal.timeout(generationTimeoutMs(pool.model)),
        cooldownMs: opts.replicaCooldownMs,
        engineApiKey: opts.engineApiKey,
      });
      outcome.replica = upstream.replica.id;
      let body: string;
      try {
        body = await upstream.body.text();
      } finally {
        upstream.release();
      }
      if (upstream.statusCode !== 200) {
        // The engine's refusal is about the text we sent: say which field it came from.
        const err = fromUpstreamError(upstream.statusCode, body);
        throw err.status === 400 ? errors.invalidRequest(err.message, param, err.code) : err;
      }
      const parsed = JSON.parse(body) as { data?: Array<{ embedding?: unknown }>; usage?: unknown };
      const values = parsed.data?.[0]?.embedding;
      if (!Array.isArray(values) || values.length === 0 || !values.every((x) => typeof x === "number")) {
        throw errors.upstreamFailed(`The embedding model \`${pool.model.id}\` returned no embedding.`);
      }
      outcome.usage = usageFromOpenAI(parsed.usage);
      finish(200, null);
      return {
        vector: normalise(values),
        model: pool.model.id,
        promptTokens: outcome.usage?.promptTokens ?? 0,
      };
    } catch (err) {
      const error = toGatewayError(err);
      if (outcome.status === 0) finish(error.status, error.code);
      throw error;
    }
  };
}
