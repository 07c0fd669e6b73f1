import { badRequest, SimError } from "../errors.ts";
import type { ActiveFaults } from "../faults.ts";
import { runInference } from "../inference.ts";
import { hashString } from "../prng.ts";
import type { Exchange, SimState } from "../state.ts";
import { countTokens } from "../tokens.ts";
import { checkModel, nowSeconds, responseId } from "./common.ts";

function inputTexts(input: unknown): string[] {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.length > 0) {
    if (input.every((p) => typeof p === "string")) return input as string[];
    if (input.every((p) => typeof p === "number")) return [(input as number[]).map((t) => `t${t}`).join(" ")];
    if (input.every((p) => Array.isArray(p)))
      return (input as number[][]).map((ids) => ids.map((t) => `t${t}`).join(" "));
  }
  throw badRequest("input: Input should be a valid string or list", "input");
}

/**
 * Feature hashing of lower-cased words: texts that share words get a higher
 * cosine similarity, so semantic-search tests behave plausibly without a model.
 */
export function embedText(text: string, dims: number): Float32Array {
  const v = new Float32Array(dims);
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  for (const w of words) {
    const h = hashString(w);
    v[h % dims]! += h & 0x80000000 ? -1 : 1;
    const h2 = hashString(w, h);
    v[h2 % dims]! += (h2 & 0x80000000 ? -1 : 1) * 0.5;
  }
  if (words.length === 0) v[0] = 1;
  let norm = 0;
  for (let i = 0; i < dims; i++) norm += v[i]! * v[i]!;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dims; i++) v[i] = v[i]! / norm;
  return v;
}

export async function handleEmbeddings(
  state: SimState,
  body: Record<string, unknown>,
  faults: Readonly<ActiveFaults>,
  ex: Exchange,
): Promise<void> {
  checkModel(state, body["model"], "embeddings");
  const texts = inputTexts(body["input"]);
  const native = state.preset.embeddingDimensions ?? 1024;
  const requested = body["dimensions"];
  let dims = native;
  if (requested !== undefined && requested !== null) {
    if (
      typeof requested !== "number" ||
      !Number.isInteger(requested) ||
      requested < 1 ||
      requested > native
    ) {
      throw new SimError(400, `Dimensions must be between 1 and ${native} for model ${state.preset.id}.`, {
        param: "dimensions",
      });
    }
    dims = requested;
  }
  const format = body["encoding_format"] ?? "float";
  if (format !== "float" && format !== "base64") {
    throw badRequest("encoding_format: Input should be 'float' or 'base64'", "encoding_format");
  }
  let promptTokens = 0;
  const data = texts.map((text, index) => {
    promptTokens += countTokens(text) + 1;
    if (promptTokens > state.preset.contextLength) {
      throw badRequest(
        `This model's maximum context length is ${state.preset.contextLength} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input.`,
        "input",
      );
    }
    // Matryoshka-style: a shorter vector is a renormalised prefix of the full one.
    const vec =
      dims === native ? embedText(text, native) : renormalise(embedText(text, native).subarray(0, dims));
    const embedding =
      format === "base64"
        ? Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength).toString("base64")
        : Array.from(vec);
    return { index, object: "embedding", embedding };
  });
  const usage =
    state.engine === "llamacpp"
      ? { prompt_tokens: promptTokens, total_tokens: promptTokens }
      : {
          prompt_tokens: promptTokens,
          total_tokens: promptTokens,
          completion_tokens: 0,
          prompt_tokens_details: null,
        };
  const json = JSON.stringify({
    id: responseId("embd-"),
    object: "list",
    created: nowSeconds(),
    model: state.preset.id,
    data,
    usage,
  });
  await runInference(state, ex, faults, {
    promptTokens,
    completionTokens: 0,
    finishReason: "stop",
    stream: false,
    json,
  });
}

function renormalise(v: Float32Array): Float32Array {
  const out = new Float32Array(v);
  let norm = 0;
  for (let i = 0; i < out.length; i++) norm += out[i]! * out[i]!;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / norm;
  return out;
}
