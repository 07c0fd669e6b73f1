/** Models, text completions and embeddings. */
import { checkErrorShape, checkRequestId, checkSpec, jsonBody } from "../lib/checks.ts";
import { readSse } from "../lib/sse.ts";
import { assert, type Case, modelFor } from "./types.ts";

export const modelCases: Case[] = [
  {
    name: "GET /v1/models lists the served models in OpenAI's list shape",
    async run(s) {
      const res = await s.raw("/v1/models");
      checkRequestId(res.headers);
      const body = (await jsonBody(res)) as { data: { id: string; object: string }[] };
      assert(res.status === 200, `HTTP ${res.status}`);
      checkSpec("ListModelsResponse", body, "model list");
      assert(body.data.length > 0, "the target lists no models");
      const ids = new Set(body.data.map((m) => m.id));
      assert(ids.size === body.data.length, "model ids repeat in the list");
    },
  },
  {
    name: "GET /v1/models/{id} returns each listed model",
    async run(s) {
      for (const m of s.models) {
        const got = await s.client.models.retrieve(m.id);
        assert(got.id === m.id, `retrieving ${m.id} returned ${got.id}`);
        checkSpec("Model", got, `model ${m.id}`);
      }
    },
  },
];

export const completionCases: Case[] = [
  {
    name: "text completion matches OpenAI's schema",
    async run(s, skip) {
      const model = modelFor(s, "completions", skip);
      const res = await s.raw("/v1/completions", {
        body: { model, prompt: "Once upon a time", max_tokens: 16 },
      });
      const body = (await jsonBody(res)) as { choices: { text: string; finish_reason: string }[] };
      assert(res.status === 200, `HTTP ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
      checkSpec("CreateCompletionResponse", body, "text completion");
      assert(
        typeof body.choices[0]?.text === "string" && body.choices[0].text.length > 0,
        "empty completion",
      );
      const viaClient = await s.client.completions.create({ model, prompt: ["a", "b"], max_tokens: 4 });
      assert(viaClient.choices.length === 2, `two prompts gave ${viaClient.choices.length} choices`);
    },
  },
  {
    name: "streamed text completion sends text_completion chunks and ends with [DONE]",
    async run(s, skip) {
      const model = modelFor(s, "completions", skip);
      const res = await s.raw("/v1/completions", {
        body: { model, prompt: "Once upon a time", max_tokens: 16, stream: true },
      });
      assert(res.status === 200, `HTTP ${res.status}`);
      const read = await readSse(res);
      assert(read.doneLast, "the stream did not end with [DONE]");
      assert(read.chunks.length > 0, "no chunks");
      for (const c of read.chunks) assert(c.object === "text_completion", `chunk object ${c.object}`);
      const finishes = read.chunks.flatMap((c) => c.choices.filter((ch) => ch.finish_reason));
      assert(finishes.length === 1, `finish_reason sent ${finishes.length} times`);
    },
  },
];

interface EmbeddingBody {
  data: { index: number; embedding: number[] | string; object: string }[];
}

function norm(v: readonly number[]): number {
  return Math.sqrt(v.reduce((a, x) => a + x * x, 0));
}

export const embeddingCases: Case[] = [
  {
    name: "embeddings: spec shape, one vector per batch input in order, same dimension",
    async run(s, skip) {
      const model = modelFor(s, "embeddings", skip);
      const input = ["red apple", "green pear", "blue whale"];
      const res = await s.raw("/v1/embeddings", { body: { model, input, encoding_format: "float" } });
      const body = (await jsonBody(res)) as EmbeddingBody;
      assert(res.status === 200, `HTTP ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
      checkSpec("CreateEmbeddingResponse", body, "embedding response");
      assert(body.data.length === 3, `3 inputs gave ${body.data.length} embeddings`);
      assert(
        body.data.every((d, i) => d.index === i),
        "embedding indexes are not 0..2 in order",
      );
      const dims = new Set(body.data.map((d) => (d.embedding as number[]).length));
      assert(dims.size === 1 && [...dims][0]! > 0, `vector lengths ${[...dims].join(",")}`);
    },
  },
  {
    name: "embeddings: dimensions returns shorter, unit-length vectors",
    async run(s, skip) {
      const model = modelFor(s, "embeddings", skip);
      const r = await s.client.embeddings.create({
        model,
        input: "hello",
        dimensions: 256,
        encoding_format: "float",
      });
      const v = r.data[0]!.embedding;
      assert(v.length === 256, `asked for 256 dimensions, got ${v.length}`);
      assert(Math.abs(norm(v) - 1) < 1e-3, `vector norm ${norm(v)} is not 1`);
    },
  },
  {
    name: "embeddings: base64 encoding decodes to the float vector",
    async run(s, skip) {
      const model = modelFor(s, "embeddings", skip);
      const get = async (encoding_format: string) => {
        const res = await s.raw("/v1/embeddings", { body: { model, input: "hello", encoding_format } });
        assert(res.status === 200, `HTTP ${res.status} for ${encoding_format}`);
        return ((await jsonBody(res)) as EmbeddingBody).data[0]!.embedding;
      };
      const floats = (await get("float")) as number[];
      const b64 = await get("base64");
      assert(typeof b64 === "string", "base64 embedding is not a string");
      const buf = Buffer.from(b64, "base64");
      const decoded = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
      assert(
        decoded.length === floats.length,
        `base64 has ${decoded.length} floats, float has ${floats.length}`,
      );
      const maxDiff = Math.max(...decoded.map((x, i) => Math.abs(x - floats[i]!)));
      assert(maxDiff < 1e-5, `base64 and float vectors differ by up to ${maxDiff}`);
      // The openai client asks for base64 by default and decodes it itself.
      const viaClient = await s.client.embeddings.create({ model, input: "hello" });
      assert(viaClient.data[0]!.embedding.length === floats.length, "the client decoded a different length");
    },
  },
  {
    name: "embeddings on a chat-only model are refused in OpenAI's error shape",
    async run(s, skip) {
      const chat = s.models.find((m) => !m.capabilities.includes("embeddings"));
      if (!chat) return skip("every listed model offers embeddings");
      const res = await s.raw("/v1/embeddings", { body: { model: chat.id, input: "hello" } });
      assert(res.status >= 400 && res.status < 500, `HTTP ${res.status}, expected a 4xx`);
      checkErrorShape(res.status, await jsonBody(res));
    },
  },
];
