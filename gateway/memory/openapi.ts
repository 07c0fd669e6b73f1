/**
 * OpenAPI 3.1 description of `/v1/memory`, served at `GET /gonka/openapi/memory.json` on the
 * operational listener. memory.test.ts keeps it in step with the mounted routes (both
 * directions) and checks live responses against these schemas.
 */
import { errorSchema } from "../errorSchema.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const ok = (description: string, schema: object) => ({ description, content: json(schema) });
const error = (description: string) => ({ description, content: json(ref("Error")) });

const NAME = "^[A-Za-z0-9._:-]{1,128}$";
const namespace = {
  name: "namespace",
  in: "path",
  required: true,
  description: "Namespace: 1–128 characters of letters, digits, `.`, `_`, `:` or `-`.",
  schema: { type: "string", pattern: NAME },
} as const;
const key = { ...namespace, name: "key", description: "Item key, same characters as a namespace." } as const;
const common = {
  "400": error("Invalid input; `param` names the field. Nothing was changed."),
  "401": error("Missing or invalid API key (`invalid_api_key`)."),
} as const;
const seconds = { type: "integer", description: "Unix seconds." } as const;

const item = {
  type: "object",
  required: ["object", "namespace", "key", "value", "metadata", "created_at", "updated_at", "expires_at"],
  properties: {
    object: { const: "memory.item" },
    namespace: { type: "string" },
    key: { type: "string" },
    value: { type: "string" },
    metadata: { type: "object" },
    created_at: seconds,
    updated_at: seconds,
    expires_at: { type: ["integer", "null"], description: "Unix seconds; null: never expires." },
  },
} as const;

export const memoryOpenApi = {
  openapi: "3.1.0",
  info: {
    title: "Gonka gateway memory API",
    version: "1.0.0",
    description:
      "Namespaced text items per API key with semantic search. Each item's `value` is embedded by the gateway's configured embedding model (one usage row per embedding call, under the calling key); items belong to the key that wrote them, and other keys get 404. Authenticate with `Authorization: Bearer gk-…`.",
  },
  security: [{ apiKey: [] }],
  paths: {
    "/v1/memory/{namespace}/{key}": {
      parameters: [namespace, key],
      put: {
        operationId: "putMemoryItem",
        summary: "Create or replace an item; its value is embedded unless it is unchanged",
        requestBody: { required: true, content: json(ref("PutMemoryItem")) },
        responses: {
          "200": ok("Replaced.", ref("MemoryItem")),
          "201": ok("Created.", ref("MemoryItem")),
          ...common,
          "403": error(
            "`insufficient_quota` / `memory_items_quota_exceeded`: the namespace holds the tier's most items.",
          ),
        },
      },
      get: {
        operationId: "getMemoryItem",
        summary: "Read an item",
        responses: {
          "200": ok("The item.", ref("MemoryItem")),
          ...common,
          "404": error("`memory_item_not_found`: absent, expired, or another key's."),
        },
      },
      delete: {
        operationId: "deleteMemoryItem",
        summary: "Delete an item",
        responses: {
          "200": ok("Deleted.", ref("DeletedMemoryItem")),
          ...common,
          "404": error("`memory_item_not_found`: absent, expired, or another key's."),
        },
      },
    },
    "/v1/memory/{namespace}": {
      parameters: [namespace],
      get: {
        operationId: "listMemoryItems",
        summary: "List a namespace's items in key order",
        parameters: [
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          {
            name: "after",
            in: "query",
            description: "`next_cursor` of the previous page.",
            schema: { type: "string" },
          },
        ],
        responses: { "200": ok("One page.", ref("MemoryItemList")), ...common },
      },
    },
    "/v1/memory/{namespace}/search": {
      parameters: [namespace],
      post: {
        operationId: "searchMemory",
        summary: "The items most similar in meaning to a query, best first",
        requestBody: { required: true, content: json(ref("SearchMemory")) },
        responses: {
          "200": ok("Matches with cosine similarity scores.", ref("MemorySearchResult")),
          ...common,
        },
      },
    },
  },
  components: {
    securitySchemes: { apiKey: { type: "http", scheme: "bearer" } },
    schemas: {
      PutMemoryItem: {
        type: "object",
        required: ["value"],
        additionalProperties: false,
        properties: {
          value: { type: "string", minLength: 1, description: "The text stored and embedded." },
          metadata: { type: "object", description: "Any JSON object; top-level fields can be filtered on." },
          ttl_seconds: {
            type: "integer",
            minimum: 1,
            maximum: 315_360_000,
            description: "Expire this long after the write.",
          },
        },
        description:
          "`value` plus JSON `metadata` may not exceed the tier's bytes per item (400 `memory_item_too_large`).",
      },
      SearchMemory: {
        type: "object",
        required: ["query"],
        additionalProperties: false,
        properties: {
          query: { type: "string", minLength: 1 },
          top_k: { type: "integer", minimum: 1, maximum: 100, default: 10 },
          filter: {
            type: "object",
            description:
              'Top-level metadata fields that must match, applied before top-k: `{"field": value}` or `{"field": {"$eq": value}}` for equality, `{"field": {"$in": [v1, v2]}}` for any of (values: strings, numbers, booleans).',
            additionalProperties: {
              oneOf: [
                { type: ["string", "number", "boolean"] },
                {
                  type: "object",
                  minProperties: 1,
                  maxProperties: 1,
                  properties: {
                    $eq: { type: ["string", "number", "boolean"] },
                    $in: {
                      type: "array",
                      minItems: 1,
                      maxItems: 100,
                      items: { type: ["string", "number", "boolean"] },
                    },
                  },
                  additionalProperties: false,
                },
              ],
            },
          },
        },
      },
      MemoryItem: item,
      DeletedMemoryItem: {
        type: "object",
        required: ["object", "namespace", "key", "deleted"],
        properties: {
          object: { const: "memory.item.deleted" },
          namespace: { type: "string" },
          key: { type: "string" },
          deleted: { const: true },
        },
      },
      MemoryItemList: {
        type: "object",
        required: ["object", "data", "has_more", "next_cursor"],
        properties: {
          object: { const: "list" },
          data: { type: "array", items: ref("MemoryItem") },
          has_more: { type: "boolean" },
          next_cursor: { type: ["string", "null"], description: "Pass as `after` for the next page." },
        },
      },
      MemorySearchResult: {
        type: "object",
        required: ["object", "data", "model", "usage"],
        properties: {
          object: { const: "list" },
          data: {
            type: "array",
            items: {
              allOf: [ref("MemoryItem")],
              type: "object",
              required: ["score"],
              properties: { score: { type: "number", description: "Cosine similarity, 1 = same meaning." } },
            },
          },
          model: { type: "string", description: "The embedding model that embedded the query." },
          usage: {
            type: "object",
            required: ["prompt_tokens", "total_tokens"],
            properties: { prompt_tokens: { type: "integer" }, total_tokens: { type: "integer" } },
          },
        },
      },
      Error: errorSchema,
    },
  },
} as const;
