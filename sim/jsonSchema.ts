import { generateWords } from "./generator.ts";
import type { Rng } from "./prng.ts";

/**
 * Builds a value that satisfies a JSON schema, so tool arguments and
 * `json_schema` replies validate. Covers what tool schemas use in practice
 * (types, required, enum/const, nested objects/arrays, numeric and length
 * bounds, $ref into $defs/definitions, anyOf/oneOf/allOf); `pattern` is not honoured.
 */

type Schema = Record<string, unknown>;

export interface SampleOptions {
  rng: Rng;
  /** Used verbatim for free-text string fields when it fits their bounds. */
  preferredString?: string;
}

const MAX_DEPTH = 8;

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith("#/")) return {};
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    if (!isSchema(node)) return {};
    node = node[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  }
  return isSchema(node) ? node : {};
}

function schemaType(schema: Schema): string {
  const t = schema["type"];
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return (t.find((x) => x !== "null") as string | undefined) ?? "null";
  if (schema["properties"] || schema["required"]) return "object";
  if (schema["items"]) return "array";
  return "string";
}

function num(schema: Schema, key: string): number | undefined {
  const v = schema[key];
  return typeof v === "number" ? v : undefined;
}

function sampleNumber(schema: Schema, integer: boolean, rng: Rng): number {
  let min = num(schema, "minimum");
  let max = num(schema, "maximum");
  const exMin = num(schema, "exclusiveMinimum");
  const exMax = num(schema, "exclusiveMaximum");
  if (exMin !== undefined) min = integer ? Math.floor(exMin) + 1 : exMin + 0.5;
  if (exMax !== undefined) max = integer ? Math.ceil(exMax) - 1 : exMax - 0.5;
  if (min === undefined) min = max !== undefined ? Math.min(0, max) : 0;
  if (max === undefined) max = min + 100;
  if (integer) {
    min = Math.ceil(min);
    max = Math.floor(max);
  }
  let value = integer ? rng.int(min, Math.max(min, max)) : min + (max - min) * rng.next();
  const step = num(schema, "multipleOf");
  if (step) value = Math.min(max, Math.ceil(min / step) * step);
  if (!integer) value = Math.round(value * 100) / 100;
  return Math.min(Math.max(value, min), max);
}

function sampleString(schema: Schema, opts: SampleOptions): string {
  const minLength = num(schema, "minLength") ?? 0;
  const maxLength = num(schema, "maxLength") ?? Number.POSITIVE_INFINITY;
  switch (schema["format"]) {
    case "date-time":
      return "2025-01-01T00:00:00Z";
    case "date":
      return "2025-01-01";
    case "time":
      return "12:00:00";
    case "email":
      return "user@example.com";
    case "uri":
    case "url":
      return "https://example.com/";
    case "uuid":
      return "00000000-0000-4000-8000-000000000000";
  }
  const preferred = opts.preferredString;
  if (preferred !== undefined && preferred.length >= minLength && preferred.length <= maxLength)
    return preferred;
  let text = generateWords(opts.rng, 2);
  while (text.length < minLength) text += ` ${generateWords(opts.rng, 1)}`;
  return text.slice(0, Math.min(text.length, maxLength));
}

function sample(schema: Schema, root: Schema, opts: SampleOptions, depth: number): unknown {
  if (typeof schema["$ref"] === "string") {
    return depth > MAX_DEPTH ? null : sample(resolveRef(root, schema["$ref"]), root, opts, depth + 1);
  }
  if ("const" in schema) return schema["const"];
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 0) return opts.rng.pick(schema["enum"]);
  for (const key of ["anyOf", "oneOf"]) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const choice = options.find((o) => isSchema(o) && o["type"] !== "null") ?? options[0];
      return sample(
        isSchema(choice) ? { ...schema, [key]: undefined, ...choice } : {},
        root,
        opts,
        depth + 1,
      );
    }
  }
  if (Array.isArray(schema["allOf"])) {
    const merged: Schema = { ...schema, allOf: undefined };
    for (const part of schema["allOf"]) {
      if (!isSchema(part)) continue;
      const props = { ...(merged["properties"] as Schema | undefined), ...(part["properties"] as Schema) };
      const required = [
        ...((merged["required"] as string[]) ?? []),
        ...((part["required"] as string[]) ?? []),
      ];
      Object.assign(merged, part, { properties: props, required });
    }
    return sample(merged, root, opts, depth + 1);
  }
  switch (schemaType(schema)) {
    case "object": {
      const props = isSchema(schema["properties"]) ? schema["properties"] : {};
      const required = Array.isArray(schema["required"]) ? (schema["required"] as string[]) : [];
      // Required keys only when the schema names some; otherwise fill every property.
      const keys = required.length > 0 ? required : Object.keys(props);
      const out: Record<string, unknown> = {};
      if (depth > MAX_DEPTH) return out;
      for (const key of keys) {
        const prop = props[key];
        out[key] = sample(isSchema(prop) ? prop : {}, root, opts, depth + 1);
      }
      return out;
    }
    case "array": {
      const minItems = num(schema, "minItems") ?? 1;
      const maxItems = num(schema, "maxItems") ?? Math.max(minItems, 1);
      const count = Math.min(Math.max(minItems, 1), maxItems);
      const items = isSchema(schema["items"]) ? schema["items"] : {};
      const out: unknown[] = [];
      for (let i = 0; i < count && depth <= MAX_DEPTH; i++) out.push(sample(items, root, opts, depth + 1));
      return out;
    }
    case "integer":
      return sampleNumber(schema, true, opts.rng);
    case "number":
      return sampleNumber(schema, false, opts.rng);
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return sampleString(schema, opts);
  }
}

export function sampleFromSchema(schema: unknown, opts: SampleOptions): unknown {
  const root = isSchema(schema) ? schema : {};
  return sample(root, root, opts, 0);
}
