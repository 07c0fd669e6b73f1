/** Component schemas of the admin OpenAPI document (wire shapes; see serialize.ts). */
import { errorSchema } from "../errorSchema.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** `{ object: "list", data: [items] }`, the shape of every admin listing. */
const listOf = (items: object) => ({
  type: "object",
  required: ["object", "data"],
  properties: { object: { const: "list" }, data: { type: "array", items } },
});
const nullableInt = { type: ["integer", "null"] } as const;
const percentiles = {
  type: "object",
  required: ["p50", "p95", "p99"],
  properties: {
    p50: { type: ["number", "null"] },
    p95: { type: ["number", "null"] },
    p99: { type: ["number", "null"] },
  },
  additionalProperties: false,
} as const;
const modelsField = {
  type: ["array", "null"],
  items: { type: "string", minLength: 1 },
  minItems: 1,
  description: "Allowed model ids or aliases; null means whatever the tier allows.",
} as const;
const expiresField = {
  type: ["integer", "null"],
  description: "Unix seconds, in the future; null for no expiry.",
} as const;

export const adminSchemas = {
  Error: errorSchema,
  KeyObject: {
    type: "object",
    required: [
      "id",
      "object",
      "name",
      "prefix",
      "tier",
      "models",
      "status",
      "created_at",
      "updated_at",
      "expires_at",
      "revoked_at",
    ],
    properties: {
      id: { type: "string" },
      object: { const: "api_key" },
      name: { type: "string" },
      prefix: { type: "string", description: "First characters of the secret, for recognising it." },
      tier: { type: "string" },
      models: modelsField,
      status: { type: "string", enum: ["active", "revoked", "expired"] },
      created_at: { type: "integer" },
      updated_at: { type: "integer" },
      expires_at: nullableInt,
      revoked_at: nullableInt,
    },
    additionalProperties: false,
  },
  IssuedKey: {
    type: "object",
    required: ["key", "secret"],
    properties: {
      key: ref("KeyObject"),
      secret: { type: "string", pattern: "^gk-", description: "Shown once; store it now." },
    },
    additionalProperties: false,
  },
  KeyList: listOf(ref("KeyObject")),
  CreateKeyRequest: {
    type: "object",
    required: ["name", "tier"],
    properties: {
      name: { type: "string", minLength: 1, maxLength: 200 },
      tier: { type: "string", description: "A configured tier (GET /admin/tiers)." },
      models: modelsField,
      expires_at: expiresField,
    },
    additionalProperties: false,
  },
  UpdateKeyRequest: {
    type: "object",
    minProperties: 1,
    properties: {
      name: { type: "string", minLength: 1, maxLength: 200 },
      tier: { type: "string" },
      models: modelsField,
      expires_at: expiresField,
    },
    additionalProperties: false,
  },
  UsageRow: {
    type: "object",
    required: [
      "requests",
      "prompt_tokens",
      "completion_tokens",
      "reasoning_tokens",
      "cached_tokens",
      "total_tokens",
      "errors",
      "aborted",
      "latency_ms",
      "ttft_ms",
    ],
    properties: {
      key_id: { type: ["string", "null"], description: "Present when grouped by key." },
      model: { type: "string", description: "Present when grouped by model." },
      session_id: { type: ["string", "null"], description: "Present when grouped by session." },
      period: {
        type: "string",
        description: "UTC bucket: `2025-01-31T13:00Z`, `2025-01-31` or `2025-01`.",
      },
      requests: { type: "integer" },
      prompt_tokens: { type: "integer" },
      completion_tokens: { type: "integer" },
      reasoning_tokens: { type: "integer", description: "Included in completion_tokens." },
      cached_tokens: { type: "integer" },
      total_tokens: { type: "integer" },
      errors: { type: "integer", description: "Responses with status >= 400." },
      aborted: { type: "integer", description: "Requests whose client went away." },
      latency_ms: percentiles,
      ttft_ms: percentiles,
    },
    additionalProperties: false,
  },
  UsageList: {
    type: "object",
    required: ["object", "group_by", "period", "data"],
    properties: {
      object: { const: "list" },
      group_by: { type: "array", items: { type: "string", enum: ["key", "model", "session", "period"] } },
      period: { type: ["string", "null"], enum: ["hour", "day", "month", null] },
      data: { type: "array", items: ref("UsageRow") },
    },
  },
  ModelStatusList: listOf({
    type: "object",
    required: ["model", "status", "replicas_healthy", "replicas_total", "queue_depth", "replicas"],
    properties: {
      model: { type: "string" },
      status: { type: "string", enum: ["ok", "degraded", "down"] },
      replicas_healthy: { type: "integer" },
      replicas_total: { type: "integer" },
      queue_depth: { type: "integer" },
      running: { type: "integer" },
      gpu_utilization: { type: ["number", "null"] },
      replicas: { type: "array", items: { type: "object" } },
      replicas_draining: { type: "integer" },
      discovery: {
        type: "object",
        description: "Only for a model whose replicas are discovered from Kubernetes EndpointSlices.",
        properties: {
          source: { type: "string" },
          synced: { type: "boolean" },
          error: { type: ["string", "null"] },
        },
      },
    },
  }),
  TierList: listOf({
    type: "object",
    required: [
      "name",
      "requests_per_minute",
      "tokens_per_minute",
      "concurrent_requests",
      "models",
      "session_ttl_seconds",
      "session_max_messages",
      "session_max_bytes",
    ],
    properties: {
      name: { type: "string" },
      requests_per_minute: { type: "integer" },
      tokens_per_minute: { type: "integer" },
      concurrent_requests: { type: "integer" },
      models: { type: ["array", "null"], items: { type: "string" } },
      session_ttl_seconds: { type: "integer", description: "Sliding expiry of this tier's sessions." },
      session_max_messages: { type: "integer", description: "Most messages one session may hold." },
      session_max_bytes: { type: "integer", description: "Most bytes of message JSON one session may hold." },
    },
    additionalProperties: false,
  }),
  ExplainRequest: {
    type: "object",
    required: ["request"],
    additionalProperties: false,
    properties: {
      request: {
        type: "object",
        required: ["model"],
        description: "A chat completion request body whose `model` is a router alias.",
        properties: { model: { type: "string" } },
      },
      key_id: { type: "string", description: "Apply this key's tier and model allow-list." },
      tier_hint: {
        type: "string",
        description: "What the `x-gonka-tier` header would say: economy or premium.",
      },
      classifier_verdict: {
        type: "string",
        description: "The classifier's answer to assume; explain never calls a model (absent: unsure).",
      },
      session_id: {
        type: "string",
        description: "An X-Session-Id (with key_id): the conversation keeps the model that answered it.",
      },
    },
  },
  RoutingExplanation: {
    type: "object",
    required: ["object", "router", "rule", "model", "fallback", "classifier", "trace"],
    properties: {
      object: { const: "routing.explanation" },
      router: { type: "string" },
      rule: { type: "string", description: "The matching rule, or `default`." },
      model: { type: "string", description: "The model that would serve (first allowed candidate)." },
      fallback: { type: "array", items: { type: "string" } },
      classifier: { type: ["string", "null"], description: "The verdict used; null when no rule needed it." },
      session: {
        type: ["string", "null"],
        description: "The model this session was answered by before (rule `session` when it keeps it).",
      },
      trace: {
        type: "array",
        description: "Each rule tried, in order, up to the match.",
        items: {
          type: "object",
          required: ["rule", "matched", "conditions"],
          properties: {
            rule: { type: "string" },
            matched: { type: "boolean" },
            conditions: {
              type: "array",
              items: {
                type: "object",
                required: ["field", "expected", "actual", "matched"],
                properties: {
                  field: { type: "string" },
                  expected: {},
                  actual: {},
                  matched: { type: "boolean" },
                },
              },
            },
          },
        },
      },
    },
  },
  SavingsList: listOf({
    type: "object",
    required: [
      "router",
      "baseline_model",
      "requests",
      "prompt_tokens",
      "completion_tokens",
      "models",
      "classifier",
      "cost_cents",
      "baseline_cost_cents",
      "saved_cents",
      "saved_percent",
    ],
    properties: {
      router: { type: "string" },
      key_id: { type: ["string", "null"] },
      session_id: { type: ["string", "null"] },
      period: { type: "string" },
      baseline_model: { type: "string" },
      requests: { type: "integer" },
      prompt_tokens: { type: "integer" },
      completion_tokens: { type: "integer" },
      models: {
        type: "array",
        items: {
          type: "object",
          required: ["model", "requests", "prompt_tokens", "completion_tokens", "cost_cents"],
          properties: {
            model: { type: "string" },
            requests: { type: "integer" },
            prompt_tokens: { type: "integer" },
            completion_tokens: { type: "integer" },
            cost_cents: { type: ["number", "null"] },
          },
        },
      },
      classifier: { type: ["object", "null"] },
      cost_cents: {
        type: ["number", "null"],
        description: "US cents at the models' prices, classifier included.",
      },
      baseline_cost_cents: {
        type: ["number", "null"],
        description: "The same tokens on the baseline model.",
      },
      saved_cents: { type: ["number", "null"] },
      saved_percent: { type: ["number", "null"] },
    },
  }),
} as const;
