/**
 * OpenAI's published OpenAPI document as the oracle for response, chunk and error
 * shapes. Loaded once per process, `nullable` (OpenAPI 3.0) rewritten to JSON
 * Schema, compiled lazily with Ajv's 2020-12 dialect so `$ref` siblings count.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { parse } from "yaml";

/** The schemas the suite validates against (`#/components/schemas/<name>`). */
export type SpecSchema =
  | "CreateChatCompletionResponse"
  | "CreateChatCompletionStreamResponse"
  | "CreateCompletionResponse"
  | "CreateEmbeddingResponse"
  | "ListModelsResponse"
  | "Model"
  | "ErrorResponse"
  | "Response"
  | "ResponseStreamEvent"
  | "ResponseItemList";

/** The roots; openapi/extract.ts vendors these and everything they reference. */
export const ROOT_SCHEMAS: readonly SpecSchema[] = [
  "CreateChatCompletionResponse",
  "CreateChatCompletionStreamResponse",
  "CreateCompletionResponse",
  "CreateEmbeddingResponse",
  "ListModelsResponse",
  "Model",
  "ErrorResponse",
  "Response",
  "ResponseStreamEvent",
  "ResponseItemList",
];

const VENDORED = resolve(import.meta.dirname, "..", "openapi", "openai-schemas.json");

/**
 * `components.schemas` of OpenAI's spec: from CONFORMANCE_OPENAPI (a full openapi.yaml or
 * .json, to check against a newer spec) or else the vendored subset.
 */
function loadSchemas(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const override = env["CONFORMANCE_OPENAPI"];
  if (override) {
    const text = readFileSync(override, "utf8");
    const doc = (override.endsWith(".json") ? JSON.parse(text) : parse(text, { maxAliasCount: -1 })) as {
      components: { schemas: Record<string, unknown> };
    };
    return doc.components.schemas;
  }
  if (!existsSync(VENDORED))
    throw new Error(`${VENDORED} is missing; regenerate it with conformance/openapi/extract.ts`);
  return (JSON.parse(readFileSync(VENDORED, "utf8")) as { schemas: Record<string, unknown> }).schemas;
}

/**
 * Fields vLLM (and so the gateway, which passes bodies through) sends as `null`
 * where OpenAI's spec types them as non-null: observed on vLLM 0.20 and the
 * simulator. They are deleted before validation only when null, so a present but
 * wrongly typed value still fails. Paths use `*` for every array element. Extra
 * vendor fields (`reasoning`, `reasoning_content`, `stop_reason`, `token_ids`,
 * `prompt_logprobs`, `kv_transfer_params`, ...) need no stripping: the spec allows
 * additional properties.
 */
export const KNOWN_VENDOR_NULLS: Readonly<Record<SpecSchema, readonly string[]>> = {
  CreateChatCompletionResponse: [
    "system_fingerprint",
    "usage.prompt_tokens_details",
    "choices.*.message.annotations",
    "choices.*.message.function_call",
  ],
  CreateChatCompletionStreamResponse: [
    "system_fingerprint",
    "usage.prompt_tokens_details",
    // vLLM 0.20.2 (measured on the reference engine, reference-engine/README.md): when a tool
    // call's last argument piece reaches the serving code together with the end of generation
    // (merged engine steps: load), it sends that piece in the finish chunk as
    // `{"id":null,"type":null,"index":i,"function":{"name":null,"arguments":"…"}}`. The openai
    // clients skip the nulls when they fold deltas; the spec types these fields as non-null strings.
    "choices.*.delta.tool_calls.*.id",
    "choices.*.delta.tool_calls.*.type",
    "choices.*.delta.tool_calls.*.function.name",
  ],
  CreateCompletionResponse: ["system_fingerprint", "usage.prompt_tokens_details"],
  CreateEmbeddingResponse: [],
  ListModelsResponse: [],
  Model: [],
  ErrorResponse: [],
  // vLLM 0.20.2 echoes `text` and `user` as null when the request had none (OpenAI: an object
  // and a string, or absent).
  Response: ["text", "user"],
  // …and `usage: null` while the response is in progress (OpenAI's spec types it as an object).
  ResponseStreamEvent: ["response.text", "response.user", "response.usage"],
  ResponseItemList: [],
};

/**
 * Required fields a backend may leave out, filled with `null` before validation.
 * Empty: llama-server omits `choices[].logprobs` and `message.refusal`, and the
 * gateway now fills them, so their absence is a failure the suite must report.
 */
export const KNOWN_VENDOR_OMISSIONS: Readonly<Partial<Record<SpecSchema, readonly string[]>>> = {};

/**
 * Required token counts a backend does not report, filled with 0 before validation: vLLM 0.20.2
 * has no `cache_write_tokens` (a field newer than its Responses usage object).
 */
export const KNOWN_VENDOR_UNREPORTED_COUNTS: Readonly<Partial<Record<SpecSchema, readonly string[]>>> = {
  Response: ["usage.input_tokens_details.cache_write_tokens"],
  ResponseStreamEvent: ["response.usage.input_tokens_details.cache_write_tokens"],
};

let compiled: Map<SpecSchema, ValidateFunction> | undefined;
let ajv: Ajv2020 | undefined;

function load(): Ajv2020 {
  if (ajv) return ajv;
  const schemas = rewriteNullable(loadSchemas()) as Record<string, unknown>;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: "openai", components: { schemas } });
  compiled = new Map();
  return ajv;
}

/** `{type: T, nullable: true}` → `{anyOf: [{type: T}, {type: "null"}]}`, recursively; drops `discriminator`. */
function rewriteNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "nullable" || k === "discriminator" || k === "example" || k === "x-oaiMeta") continue;
    out[k] = rewriteNullable(v);
  }
  if ((node as Record<string, unknown>)["nullable"] === true) return { anyOf: [out, { type: "null" }] };
  return out;
}

function validator(name: SpecSchema): ValidateFunction {
  const instance = load();
  let fn = compiled!.get(name);
  if (!fn) {
    fn = instance.getSchema(`openai#/components/schemas/${name}`);
    if (!fn) throw new Error(`schema ${name} not found in the OpenAI spec`);
    compiled!.set(name, fn);
  }
  return fn;
}

/** A deep copy of `value` without the known vendor nulls of `name` and with its known omissions filled. */
export function stripVendorNulls(name: SpecSchema, value: unknown): unknown {
  const copy = structuredClone(value);
  for (const path of KNOWN_VENDOR_NULLS[name]) deleteNullAt(copy, path.split("."));
  for (const path of KNOWN_VENDOR_OMISSIONS[name] ?? []) fillNullAt(copy, path.split("."));
  for (const path of KNOWN_VENDOR_UNREPORTED_COUNTS[name] ?? []) fillNullAt(copy, path.split("."), 0);
  return copy;
}

function fillNullAt(node: unknown, path: string[], value: null | number = null): void {
  if (!node || typeof node !== "object") return;
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (head === "*") {
    if (Array.isArray(node)) for (const item of node) fillNullAt(item, rest, value);
    return;
  }
  const obj = node as Record<string, unknown>;
  if (rest.length === 0) {
    if (!(head in obj)) obj[head] = value;
    return;
  }
  fillNullAt(obj[head], rest, value);
}

function deleteNullAt(node: unknown, path: string[]): void {
  if (!node || typeof node !== "object") return;
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (head === "*") {
    if (Array.isArray(node)) for (const item of node) deleteNullAt(item, rest);
    return;
  }
  const obj = node as Record<string, unknown>;
  if (rest.length === 0) {
    if (obj[head] === null) delete obj[head];
    return;
  }
  deleteNullAt(obj[head], rest);
}

/** Spec violations of `value` as readable lines (empty when it conforms). */
export function specViolations(name: SpecSchema, value: unknown): string[] {
  const fn = validator(name);
  if (fn(stripVendorNulls(name, value))) return [];
  return (fn.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`.trim());
}
