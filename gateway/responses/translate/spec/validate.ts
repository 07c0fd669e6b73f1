/**
 * Test oracle: OpenAI's Responses schemas (vendored in responses-schemas.json by extract.ts),
 * compiled with Ajv's 2020-12 dialect the way conformance/lib/spec.ts compiles the chat ones.
 * A stream event is checked against the one event schema its `type` names, so a failure says
 * what is wrong rather than "matches none of 60 alternatives".
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

type Json = Record<string, unknown>;

const schemas = (
  JSON.parse(readFileSync(resolve(import.meta.dirname, "responses-schemas.json"), "utf8")) as {
    schemas: Record<string, Json>;
  }
).schemas;

/** OpenAPI 3.0 `nullable` → JSON Schema; drops the keywords Ajv does not know. */
function rewriteNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (!node || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "nullable" || k === "discriminator" || k === "example" || k === "x-oaiMeta") continue;
    out[k] = rewriteNullable(v);
  }
  if ((node as Json)["nullable"] === true) return { anyOf: [out, { type: "null" }] };
  return out;
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: "openai", components: { schemas: rewriteNullable(schemas) } });
const cache = new Map<string, ValidateFunction>();

function validator(name: string): ValidateFunction {
  let fn = cache.get(name);
  if (!fn) {
    fn = ajv.getSchema(`openai#/components/schemas/${name}`);
    if (!fn) throw new Error(`schema ${name} is not vendored`);
    cache.set(name, fn);
  }
  return fn;
}

/** Event type → the schema that defines it, read from ResponseStreamEvent's alternatives. */
const EVENT_SCHEMAS = new Map<string, string>();
for (const alt of (schemas["ResponseStreamEvent"]!["anyOf"] as { $ref: string }[]) ?? []) {
  const name = alt.$ref.split("/").pop()!;
  const type = (
    (schemas[name]?.["properties"] as Json | undefined)?.["type"] as { enum?: string[] } | undefined
  )?.enum?.[0];
  if (type) EVENT_SCHEMAS.set(type, name);
}

export function violations(name: string, value: unknown): string[] {
  const fn = validator(name);
  if (fn(value)) return [];
  return (fn.errors ?? [])
    .slice(0, 8)
    .map((e) => `${name}${e.instancePath || "/"} ${e.message ?? ""}`.trim());
}

/** Spec violations of one stream event (empty when it conforms), including an unknown event type. */
export function eventViolations(event: Json): string[] {
  const name = EVENT_SCHEMAS.get(String(event["type"]));
  if (!name) return [`unknown event type ${String(event["type"])}`];
  return violations(name, event);
}

export function responseViolations(response: unknown): string[] {
  return violations("Response", response);
}
