/**
 * OpenAPI 3.1 description of the admin API, served at `GET /admin/openapi.json`. A test keeps
 * it in step with the mounted routes (both directions) and checks live responses against
 * these schemas, so it cannot drift silently.
 */
import { adminSessionPaths, sessionSchemas } from "../sessions/openapi.ts";
import { adminSchemas } from "./openapiSchemas.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const ok = (description: string, schema: object) => ({ description, content: json(schema) });
const error = (description: string) => ({ description, content: json(ref("Error")) });

const keyId = {
  name: "id",
  in: "path",
  required: true,
  description: "Key id (`key_…`).",
  schema: { type: "string" },
} as const;

const time = {
  type: "string",
  description: "Unix seconds or ISO 8601 (`2025-01-31`, `2025-01-31T13:00:00Z`; no offset means UTC).",
} as const;

const common = {
  "401": error("Missing or wrong admin token (`invalid_admin_key`)."),
} as const;

export const adminOpenApi = {
  openapi: "3.1.0",
  info: {
    title: "Gonka gateway admin API",
    version: "1.0.0",
    description:
      "Key management, usage statistics, sessions of every key, model status and tiers. Authenticate with `Authorization: Bearer $GONKA_ADMIN_KEY`; API keys (`gk-…`) are refused. Timestamps are unix seconds.",
  },
  security: [{ adminKey: [] }],
  paths: {
    "/admin/keys": {
      get: {
        operationId: "listKeys",
        summary: "List API keys",
        parameters: [
          { name: "status", in: "query", schema: { type: "string", enum: ["active", "revoked", "expired"] } },
        ],
        responses: {
          "200": ok("Keys, oldest first.", ref("KeyList")),
          "400": error("Bad status."),
          ...common,
        },
      },
      post: {
        operationId: "createKey",
        summary: "Create an API key; the secret is returned only here",
        requestBody: { required: true, content: json(ref("CreateKeyRequest")) },
        responses: {
          "201": ok("The key and its secret.", ref("IssuedKey")),
          "400": error("Invalid field or unknown tier (the message lists the configured tiers)."),
          ...common,
        },
      },
    },
    "/admin/keys/{id}": {
      parameters: [keyId],
      get: {
        operationId: "getKey",
        summary: "Get one API key",
        responses: { "200": ok("The key.", ref("KeyObject")), "404": error("`key_not_found`."), ...common },
      },
      patch: {
        operationId: "updateKey",
        summary: "Change name, tier, models or expiry; applies on the key's next request",
        requestBody: { required: true, content: json(ref("UpdateKeyRequest")) },
        responses: {
          "200": ok("The updated key.", ref("KeyObject")),
          "400": error("Invalid field or unknown tier."),
          "404": error("`key_not_found`."),
          ...common,
        },
      },
      delete: {
        operationId: "deleteKey",
        summary: "Revoke the key (same as POST …/revoke; the record is kept for usage history)",
        responses: {
          "200": ok("The revoked key.", ref("KeyObject")),
          "404": error("`key_not_found`."),
          ...common,
        },
      },
    },
    "/admin/keys/{id}/rotate": {
      parameters: [keyId],
      post: {
        operationId: "rotateKey",
        summary: "Issue a new secret; the old one stops working at once",
        responses: {
          "200": ok("The key and its new secret.", ref("IssuedKey")),
          "400": error("`key_revoked`: revoked keys cannot be rotated."),
          "404": error("`key_not_found`."),
          ...common,
        },
      },
    },
    "/admin/keys/{id}/revoke": {
      parameters: [keyId],
      post: {
        operationId: "revokeKey",
        summary: "Revoke the key (idempotent)",
        responses: {
          "200": ok("The revoked key.", ref("KeyObject")),
          "404": error("`key_not_found`."),
          ...common,
        },
      },
    },
    "/admin/usage": {
      get: {
        operationId: "getUsage",
        summary: "Usage totals and latency percentiles, grouped by key, model, session and/or period",
        parameters: [
          {
            name: "group_by",
            in: "query",
            description: "Comma-separated subset of key, model, session, period; empty gives one total row.",
            schema: { type: "string", example: "session,model" },
          },
          { name: "period", in: "query", schema: { type: "string", enum: ["hour", "day", "month"] } },
          { name: "from", in: "query", description: "Inclusive.", schema: time },
          { name: "to", in: "query", description: "Exclusive.", schema: time },
          { name: "key_id", in: "query", schema: { type: "string" } },
          {
            name: "model",
            in: "query",
            description: "Served model (or requested, when none served).",
            schema: { type: "string" },
          },
          { name: "session_id", in: "query", schema: { type: "string" } },
        ],
        responses: {
          "200": {
            description:
              "Summary rows sorted by group; with `Accept: text/csv`, the same rows as CSV (a header line, percentiles as `latency_ms_p50` … `ttft_ms_p99`).",
            content: { ...json(ref("UsageList")), "text/csv": { schema: { type: "string" } } },
          },
          "400": error("`invalid_usage_query`."),
          ...common,
        },
      },
    },
    "/admin/usage/savings": {
      get: {
        operationId: "getTieringSavings",
        summary:
          "Per router alias: tokens each model served, their cost, and the cost of the same tokens on the router's baseline model",
        parameters: [
          {
            name: "group_by",
            in: "query",
            description:
              "Comma-separated subset of key, session, period (each row is broken down by model already).",
            schema: { type: "string", example: "key,period" },
          },
          { name: "period", in: "query", schema: { type: "string", enum: ["hour", "day", "month"] } },
          { name: "from", in: "query", description: "Inclusive.", schema: time },
          { name: "to", in: "query", description: "Exclusive.", schema: time },
          { name: "key_id", in: "query", schema: { type: "string" } },
          { name: "session_id", in: "query", schema: { type: "string" } },
        ],
        responses: {
          "200": ok("One row per router and group.", ref("SavingsList")),
          "400": error("`invalid_usage_query`."),
          ...common,
        },
      },
    },
    "/admin/routing/explain": {
      post: {
        operationId: "explainRouting",
        summary:
          "Dry-run a request through the router rules: the rule that matches, why, and the models it would use",
        requestBody: { required: true, content: json(ref("ExplainRequest")) },
        responses: {
          "200": ok(
            "The decision and each rule's conditions with the values they saw.",
            ref("RoutingExplanation"),
          ),
          "400": error("`invalid_explain_request` (not a router alias, bad field) or `key_not_found`."),
          "403": error("`model_not_allowed`: the key may use none of the rule's models."),
          ...common,
        },
      },
    },
    ...adminSessionPaths,
    "/admin/models": {
      get: {
        operationId: "listModelStatus",
        summary: "Per-model status: replicas, health, queue depth, GPU utilization",
        responses: { "200": ok("One entry per model.", ref("ModelStatusList")), ...common },
      },
    },
    "/admin/tiers": {
      get: {
        operationId: "listTiers",
        summary: "Configured tiers and their limits",
        responses: { "200": ok("Tiers by name.", ref("TierList")), ...common },
      },
    },
    "/admin/openapi.json": {
      get: {
        operationId: "getOpenApi",
        summary: "This document",
        responses: { "200": ok("OpenAPI 3.1 document.", { type: "object" }), ...common },
      },
    },
  },
  components: {
    securitySchemes: {
      adminKey: { type: "http", scheme: "bearer", description: "The gateway's GONKA_ADMIN_KEY." },
    },
    schemas: { ...adminSchemas, ...sessionSchemas },
  },
} as const;
