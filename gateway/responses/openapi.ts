/**
 * OpenAPI 3.1 for what the gateway adds to OpenAI's Responses API, served at
 * `GET /gonka/openapi/responses.json` on the operational listener. Request and Response shapes
 * are OpenAI's (`CreateResponse`, `Response`, `ResponseItemList` in OpenAI's openapi.yaml, the
 * conformance suite's oracle); this document states the gateway's own parts: the stored-response
 * routes, ids, the `X-Session-Id` of a chain, what is refused, and the error codes. The tests keep
 * it in step with the mounted routes and check live responses against it.
 */
import { errorSchema } from "../errorSchema.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const error = (description: string) => ({ description, content: json(ref("Error")) });

const responseId = {
  name: "id",
  in: "path",
  required: true,
  description: "A stored response's id, `resp_<chain>_<random>`.",
  schema: { type: "string" },
} as const;

const sessionHeader = {
  "X-Session-Id": {
    description: "The session of the response chain (stored responses only): its usage, TTL and replica.",
    schema: { type: "string", pattern: "^sess_[0-9a-f]{24}$" },
  },
} as const;

export const responsesOpenApi = {
  openapi: "3.1.0",
  info: {
    title: "Gonka gateway: the Responses API",
    version: "1",
    description:
      "OpenAI's Responses API (request and Response objects as in OpenAI's openapi.yaml). The engine keeps nothing: the gateway stores responses (`store`, default true) as session chains and rebuilds the input of `previous_response_id` itself.",
  },
  paths: {
    "/v1/responses": {
      post: {
        summary: "Create a response (streamed with `stream: true`: `event:` frames, no `[DONE]`).",
        requestBody: {
          required: true,
          content: json({
            type: "object",
            required: ["model", "input"],
            properties: {
              model: { type: "string", description: "A model id or alias, or a router alias." },
              input: { oneOf: [{ type: "string" }, { type: "array", items: { type: "object" } }] },
              store: { type: ["boolean", "null"], default: true },
              previous_response_id: {
                type: ["string", "null"],
                description: "A stored response of the same key; 404 `response_not_found` otherwise.",
              },
              stream: { type: ["boolean", "null"] },
              background: { const: false, description: "Refused: 400 `unsupported_parameter`." },
              conversation: { type: "null", description: "Refused: 400 `unsupported_parameter`." },
            },
          }),
        },
        responses: {
          "200": {
            description: "OpenAI's Response object, or its event stream.",
            headers: sessionHeader,
            content: { ...json(ref("Response")), "text/event-stream": { schema: { type: "string" } } },
          },
          "400": error(
            "Invalid, refused (`unsupported_parameter`), or a llama.cpp model without the translation (`model_not_supported`).",
          ),
          "401": error("No or a bad API key."),
          "404": error(
            "`previous_response_id` unknown, deleted, expired or another key's (`response_not_found`); or an unknown model.",
          ),
          "429": error("Over the key's tier limits."),
        },
      },
    },
    "/v1/responses/{id}": {
      parameters: [responseId],
      get: {
        summary: "A stored response of the calling key.",
        responses: {
          "200": { description: "The Response.", content: json(ref("Response")) },
          "404": error("Unknown or another key's."),
        },
      },
      delete: {
        summary: "Delete a stored response (later responses of its chain still continue from its items).",
        responses: {
          "200": { description: "Deleted.", content: json(ref("ResponseDeleted")) },
          "404": error("Unknown or another key's."),
        },
      },
    },
    "/v1/responses/{id}/input_items": {
      parameters: [responseId],
      get: {
        summary: "The request's own input items (not the earlier context of its chain).",
        parameters: [
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
          { name: "order", in: "query", schema: { enum: ["asc", "desc"], default: "desc" } },
          {
            name: "after",
            in: "query",
            schema: { type: "string" },
            description: "An item id of the previous page.",
          },
        ],
        responses: {
          "200": { description: "A list page.", content: json(ref("ItemList")) },
          "400": error("A bad `limit`, `order` or `after`."),
          "404": error("Unknown or another key's."),
        },
      },
    },
    "/v1/responses/{id}/cancel": {
      parameters: [responseId],
      post: {
        summary: "Every stored response is finished (no background mode): 400 `response_not_cancellable`.",
        responses: { "400": error("Not cancellable."), "404": error("Unknown or another key's.") },
      },
    },
  },
  components: {
    schemas: {
      Error: errorSchema,
      Response: {
        type: "object",
        required: ["id", "object", "created_at", "status", "output", "model", "error"],
        properties: {
          id: { type: "string", pattern: "^resp_" },
          object: { const: "response" },
          status: { enum: ["completed", "incomplete", "failed", "in_progress", "cancelled", "queued"] },
          output: { type: "array", items: { type: "object", required: ["type"] } },
          previous_response_id: { type: ["string", "null"] },
          store: { type: "boolean" },
          error: { type: ["object", "null"] },
          usage: {
            type: ["object", "null"],
            required: ["input_tokens", "output_tokens", "total_tokens"],
            properties: {
              input_tokens: { type: "integer" },
              output_tokens: { type: "integer" },
              total_tokens: { type: "integer" },
              output_tokens_details: {
                type: "object",
                properties: { reasoning_tokens: { type: "integer" } },
              },
            },
          },
        },
      },
      ResponseDeleted: {
        type: "object",
        required: ["id", "object", "deleted"],
        properties: { id: { type: "string" }, object: { const: "response" }, deleted: { const: true } },
        additionalProperties: false,
      },
      ItemList: {
        type: "object",
        required: ["object", "data", "first_id", "last_id", "has_more"],
        properties: {
          object: { const: "list" },
          data: { type: "array", items: { type: "object", required: ["id", "type"] } },
          first_id: { type: ["string", "null"] },
          last_id: { type: ["string", "null"] },
          has_more: { type: "boolean" },
        },
        additionalProperties: false,
      },
    },
  },
} as const;
