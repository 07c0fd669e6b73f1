/**
 * OpenAPI 3.1 description of `/v1/webhooks`, served at `GET /gonka/openapi/webhooks.json` on
 * the operational listener. webhooks.test.ts keeps it in step with the mounted routes (both
 * directions) and checks live responses and a delivered event against these schemas.
 */
import { errorSchema } from "../errorSchema.ts";
import { JOB_EVENT_TYPES } from "./serialize.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const ok = (description: string, schema: object) => ({ description, content: json(schema) });
const error = (description: string) => ({ description, content: json(ref("Error")) });
const seconds = { type: "integer", description: "Unix seconds." } as const;
const nullableSeconds = { type: ["integer", "null"], description: "Unix seconds, or null." } as const;
const eventType = { type: "string", enum: [...JOB_EVENT_TYPES] } as const;

const endpointId = {
  name: "id",
  in: "path",
  required: true,
  description: "Webhook endpoint id (`we_…`).",
  schema: { type: "string" },
} as const;
const common = {
  "401": error("Missing or invalid API key (`invalid_api_key`)."),
  "404": error("No such endpoint for this key (`webhook_not_found`); other keys' endpoints are 404 too."),
} as const;

const endpointProperties = {
  id: { type: "string" },
  object: { const: "webhook_endpoint" },
  url: { type: "string" },
  events: { type: "array", items: eventType },
  description: { type: ["string", "null"] },
  created_at: seconds,
  previous_secret_expires_at: {
    ...nullableSeconds,
    description: "After a rotation: until when the previous secret also signs deliveries.",
  },
} as const;
const endpointRequired = [
  "id",
  "object",
  "url",
  "events",
  "description",
  "created_at",
  "previous_secret_expires_at",
];

export const webhooksOpenApi = {
  openapi: "3.1.0",
  info: {
    title: "Gonka gateway webhooks API",
    version: "1.0.0",
    description:
      "Webhook endpoints per API key for async job events (`job.succeeded`, `job.failed`, `job.cancelled`). Deliveries follow Standard Webhooks: headers `webhook-id` (the event id, identical on every retry: dedupe on it), `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>`, space-separated when a rotated secret is still in its grace period); the body is a `WebhookEvent`. Verify with the `openai` SDK's `client.webhooks.unwrap()` or `standardwebhooks`' `Webhook.verify`. Non-2xx answers, timeouts and redirects (never followed) are retried with exponential backoff and jitter, then marked failed. URLs must be https and resolve to public addresses unless the operator allow-lists them. Authenticate with `Authorization: Bearer gk-…`.",
  },
  security: [{ apiKey: [] }],
  paths: {
    "/v1/webhooks": {
      post: {
        operationId: "createWebhookEndpoint",
        summary: "Register an endpoint; the answer holds its signing secret, shown only this once",
        requestBody: { required: true, content: json(ref("CreateWebhookEndpoint")) },
        responses: {
          "201": ok("Created, with `secret`.", ref("WebhookEndpointWithSecret")),
          "400": error(
            "Invalid input (`invalid_webhook_field`), a refused URL (`webhook_url_refused`, param `url`), or too many endpoints (`webhook_limit_reached`).",
          ),
          "401": common["401"],
        },
      },
      get: {
        operationId: "listWebhookEndpoints",
        summary: "This key's endpoints (without secrets)",
        responses: {
          "200": ok("The endpoints, oldest first.", ref("WebhookEndpointList")),
          "401": common["401"],
        },
      },
    },
    "/v1/webhooks/{id}": {
      parameters: [endpointId],
      get: {
        operationId: "getWebhookEndpoint",
        summary: "One endpoint (without its secret)",
        responses: { "200": ok("The endpoint.", ref("WebhookEndpoint")), ...common },
      },
      delete: {
        operationId: "deleteWebhookEndpoint",
        summary: "Delete an endpoint and its pending and past deliveries",
        responses: { "200": ok("Deleted.", ref("DeletedWebhookEndpoint")), ...common },
      },
    },
    "/v1/webhooks/{id}/rotate_secret": {
      parameters: [endpointId],
      post: {
        operationId: "rotateWebhookSecret",
        summary:
          "Issue a new secret; the old one keeps signing (a second signature) until `previous_secret_expires_at`",
        responses: {
          "200": ok("The endpoint with its new `secret`.", ref("WebhookEndpointWithSecret")),
          ...common,
        },
      },
    },
    "/v1/webhooks/{id}/deliveries": {
      parameters: [endpointId],
      get: {
        operationId: "listWebhookDeliveries",
        summary: "Deliveries to this endpoint, newest first, each with its attempts",
        parameters: [
          {
            name: "limit",
            in: "query",
            description: "At most this many (1–100, default 20).",
            schema: { type: "integer", minimum: 1, maximum: 100 },
          },
        ],
        responses: {
          "200": ok("Deliveries.", ref("WebhookDeliveryList")),
          "400": error("Bad `limit` (`invalid_limit`)."),
          ...common,
        },
      },
    },
    "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver": {
      parameters: [
        endpointId,
        {
          name: "delivery_id",
          in: "path",
          required: true,
          description: "`whd_…`",
          schema: { type: "string" },
        },
      ],
      post: {
        operationId: "redeliverWebhook",
        summary: "Send a delivery again now, with a fresh retry schedule (same `webhook-id`)",
        responses: {
          "202": ok("Queued.", ref("WebhookDelivery")),
          "401": common["401"],
          "404": error(
            "No such endpoint or delivery for this key (`webhook_not_found`, `delivery_not_found`).",
          ),
        },
      },
    },
  },
  components: {
    securitySchemes: { apiKey: { type: "http", scheme: "bearer" } },
    schemas: {
      CreateWebhookEndpoint: {
        type: "object",
        required: ["url"],
        additionalProperties: false,
        properties: {
          url: { type: "string", description: "https URL (http only where the operator allows it)." },
          events: {
            type: ["array", "null"],
            items: eventType,
            minItems: 1,
            uniqueItems: true,
            description: "Event types to receive; absent or null: all.",
          },
          description: { type: ["string", "null"], maxLength: 512 },
        },
      },
      WebhookEndpoint: {
        type: "object",
        required: endpointRequired,
        additionalProperties: false,
        properties: endpointProperties,
      },
      WebhookEndpointWithSecret: {
        type: "object",
        required: [...endpointRequired, "secret"],
        additionalProperties: false,
        properties: {
          ...endpointProperties,
          secret: {
            type: "string",
            pattern: "^whsec_",
            description:
              "The signing secret (Standard Webhooks `whsec_` + base64). Shown only in this answer.",
          },
        },
      },
      WebhookEndpointList: {
        type: "object",
        required: ["object", "data", "has_more"],
        properties: {
          object: { const: "list" },
          data: { type: "array", items: ref("WebhookEndpoint") },
          has_more: { type: "boolean" },
        },
      },
      DeletedWebhookEndpoint: {
        type: "object",
        required: ["id", "object", "deleted"],
        properties: {
          id: { type: "string" },
          object: { const: "webhook_endpoint.deleted" },
          deleted: { const: true },
        },
      },
      WebhookAttempt: {
        type: "object",
        required: ["attempt", "started_at", "duration_ms", "status_code", "error"],
        properties: {
          attempt: { type: "integer", minimum: 1 },
          started_at: seconds,
          duration_ms: { type: "number" },
          status_code: { type: ["integer", "null"], description: "Null when no answer came." },
          error: { type: ["string", "null"], description: "Why the attempt failed; null on success." },
        },
      },
      WebhookDelivery: {
        type: "object",
        required: [
          "id",
          "object",
          "endpoint_id",
          "webhook_id",
          "event_type",
          "status",
          "attempts",
          "next_attempt_at",
          "created_at",
          "updated_at",
          "last_status_code",
          "last_error",
        ],
        properties: {
          id: { type: "string" },
          object: { const: "webhook_delivery" },
          endpoint_id: { type: "string" },
          webhook_id: { type: "string", description: "The `webhook-id` header: the event id." },
          event_type: eventType,
          status: { enum: ["pending", "succeeded", "failed"] },
          attempts: { type: "integer", minimum: 0 },
          next_attempt_at: nullableSeconds,
          created_at: seconds,
          updated_at: seconds,
          last_status_code: { type: ["integer", "null"] },
          last_error: { type: ["string", "null"] },
          attempt_log: { type: "array", items: ref("WebhookAttempt") },
        },
      },
      WebhookDeliveryList: {
        type: "object",
        required: ["object", "data", "has_more"],
        properties: {
          object: { const: "list" },
          data: { type: "array", items: ref("WebhookDelivery") },
          has_more: { type: "boolean" },
        },
      },
      WebhookEvent: {
        type: "object",
        description:
          "The body of every delivery. `data` is the job object, or above `webhooks.maxPayloadBytes` a summary with `truncated: true` and `url` (the job's path under the API base URL).",
        required: ["id", "object", "type", "created_at", "timestamp", "data"],
        properties: {
          id: { type: "string", description: "The event id, equal to the `webhook-id` header." },
          object: { const: "event" },
          type: eventType,
          created_at: seconds,
          timestamp: { type: "string", description: "ISO 8601 (RFC 3339) time of the event." },
          data: { type: "object" },
        },
      },
      Error: errorSchema,
    },
  },
} as const;
