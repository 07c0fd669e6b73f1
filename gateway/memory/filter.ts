/**
 * Metadata filters of `POST /v1/memory/{namespace}/search`: `{"field": value}` or
 * `{"field": {"$eq": value}}` for equality, `{"field": {"$in": [v1, v2]}}` for any of; several
 * fields must all match. Values are strings, numbers or booleans, compared with top-level
 * metadata fields exactly (`"1"` is not `1`). Both dialects apply the filter before top-k:
 * SQLite in its index scan (matches), Postgres in the WHERE clause (jsonb containment).
 */
import { InvalidInput } from "../store/errors.ts";

export type Scalar = string | number | boolean;

/** Field → the values it may equal (one for equality). Empty: no filter. */
export type MemoryFilter = ReadonlyArray<{ field: string; anyOf: readonly Scalar[] }>;

const MAX_FIELDS = 16;
const MAX_IN = 100;

function bad(message: string): InvalidInput {
  return new InvalidInput("invalid_filter", "filter", message);
}

function scalar(v: unknown, where: string): Scalar {
  if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)))
    return v;
  throw bad(`${where} must be a string, number or boolean.`);
}

export function parseFilter(input: unknown): MemoryFilter {
  if (input === undefined || input === null) return [];
  if (typeof input !== "object" || Array.isArray(input))
    throw bad("`filter` must be an object of metadata fields.");
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length > MAX_FIELDS) throw bad(`\`filter\` may name at most ${MAX_FIELDS} fields.`);
  return entries.map(([field, cond]) => {
    if (field.length === 0 || field.length > 128 || field.startsWith("$")) {
      throw bad(`Filter field \`${field}\` must be 1–128 characters and not start with \`$\`.`);
    }
    if (cond === null || typeof cond !== "object") return { field, anyOf: [scalar(cond, `filter.${field}`)] };
    if (Array.isArray(cond)) throw bad(`filter.${field}: use {"$in": [...]} to match any of several values.`);
    const ops = Object.entries(cond as Record<string, unknown>);
    if (ops.length !== 1) throw bad(`filter.${field} must have exactly one operator ($eq or $in).`);
    const [op, arg] = ops[0]!;
    if (op === "$eq") return { field, anyOf: [scalar(arg, `filter.${field}.$eq`)] };
    if (op === "$in") {
      if (!Array.isArray(arg) || arg.length === 0 || arg.length > MAX_IN) {
        throw bad(`filter.${field}.$in must be an array of 1–${MAX_IN} values.`);
      }
      return { field, anyOf: arg.map((v, i) => scalar(v, `filter.${field}.$in[${i}]`)) };
    }
    throw bad(`filter.${field}: unknown operator \`${op}\` (supported: $eq, $in).`);
  });
}

/** The filter as a predicate over an item's metadata (the SQLite index scan). */
export function matcher(filter: MemoryFilter): ((metadata: Record<string, unknown>) => boolean) | undefined {
  if (filter.length === 0) return undefined;
  return (metadata) =>
    filter.every(({ field, anyOf }) => {
      const v = metadata[field];
      return anyOf.some((a) => a === v);
    });
}
