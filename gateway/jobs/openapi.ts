/**
 * OpenAPI 3.1 for async jobs: `Prefer: respond-async` on chat completions and `/v1/jobs`,
 * served at `GET /gonka/openapi/jobs.json` on the operational listener. Tests keep it in
 * step with the mounted routes and check live responses against the schemas.
 */
import { errorSchema } from "../errorSchema.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const ok = (description: string, schema: object) => ({ description, content: json(schema) });
const error = (description: string) => ({ description, content: json(ref("Error")) });
const keyErrors = { "401": error("Missing, invalid or revoked API key (`invalid_api_key`).") } as const;

const jobIdParam = {
  name: "id",
  in: "path",
  required: true,
  description: "Job id (`job_` and 24 hex digits).",
  schema: { type: "string" },
} as const;

const seconds = (description: string) => ({ type: ["integer", "null"], description });

const job = {
  type: "object",
  required: [
    "id",
    "object",
    "status",
    "endpoint",
    "model",
    "created_at",
    "started_at",
    "finished_at",
    "expires_at",
    "attempts",
    "cancel_requested",
    "webhook_id",
    "completion",
    "error",
  ],
  properties: {
    id: { type: "string", pattern: "^job_[0-9a-f]{24}$" },
    object: { const: "job" },
    status: { enum: ["queued", "running", "succeeded", "failed", "cancelled"] },
    endpoint: { const: "/v1/chat/completions" },
    model: { type: "string", description: "The model the request named (id, alias or router alias)." },
    created_at: { type: "integer", description: "Unix seconds: when the job was accepted." },
    started_at: seconds("Unix seconds: when its first run started."),
    finished_at: seconds("Unix seconds: when it ended."),
    expires_at: seconds("Unix seconds: when a finished job is deleted (the key's tier retention)."),
    attempts: { type: "integer", description: "Runs started, including runs lost with their gateway." },
    cancel_requested: { type: "boolean" },
    webhook_id: { type: ["string", "null"], description: "The endpoint named by `Gonka-Webhook-Id`." },
    completion: {
      type: ["object", "null"],
      description: "OpenAI's chat completion, when `succeeded`.",
    },
    error: {
      oneOf: [{ type: "null" }, errorSchema.properties.error],
      description: "OpenAI's error object, when `failed` or `cancelled`.",
    },
  },
  additionalProperties: false,
} as const;

export const jobsOpenApi = {
  openapi: "3.1.0",
  info: {
    title: "Gonka gateway async jobs API",
    version: "1.0.0",
    description:
      "Long-running requests without a held connection. Send `Prefer: respond-async` on `POST /v1/chat/completions`: the request is validated, routed and charged to the key's rate limits as a synchronous one would be, then answered `202` with a job; a worker in the gateway runs it and stores the completion. Poll `GET /v1/jobs/{id}`. Jobs survive gateway restarts, run on exactly one replica, and are retried on 429/5xx up to `jobs.maxAttempts` runs. Jobs belong to the API key that created them; another key gets 404. Timestamps are unix seconds.",
  },
  security: [{ apiKey: [] }],
  paths: {
    "/v1/chat/completions": {
      post: {
        operationId: "createChatCompletionAsync",
        summary: "OpenAI's chat completions, run as a job",
        parameters: [
          {
            name: "Prefer",
            in: "header",
            required: true,
            description: "`respond-async` (RFC 7240). Without it the request is answered synchronously.",
            schema: { type: "string" },
          },
          {
            name: "Gonka-Webhook-Id",
            in: "header",
            required: false,
            description:
              "A webhook endpoint of this key to notify when the job ends (webhooks must be enabled).",
            schema: { type: "string" },
          },
        ],
        requestBody: {
          required: true,
          description: "OpenAI's CreateChatCompletionRequest; `stream: true` is refused.",
          content: json({ type: "object" }),
        },
        responses: {
          "202": {
            description:
              "Accepted: the job (`queued`). `Location: /v1/jobs/{id}`, `Preference-Applied: respond-async`.",
            headers: {
              Location: { schema: { type: "string" } },
              "Preference-Applied": { schema: { const: "respond-async" } },
            },
            content: json(ref("Job")),
          },
          "400": error(
            "Whatever a synchronous request would get, and `stream_not_supported`, `session_not_supported`, `webhook_not_found` (no such endpoint for this key).",
          ),
          ...keyErrors,
          "429": error("The key's rate limits (charged at acceptance)."),
        },
      },
    },
    "/v1/jobs": {
      get: {
        operationId: "listJobs",
        summary: "This key's jobs, newest first",
        parameters: [
          {
            name: "limit",
            in: "query",
            description: "1–100, default 20.",
            schema: { type: "integer", minimum: 1, maximum: 100 },
          },
          {
            name: "after",
            in: "query",
            description: "`last_id` of the previous page.",
            schema: { type: "string" },
          },
        ],
        responses: {
          "200": ok("One page.", ref("JobList")),
          "400": error("`invalid_list_query`."),
          ...keyErrors,
        },
      },
    },
    "/v1/jobs/{id}": {
      parameters: [jobIdParam],
      get: {
        operationId: "getJob",
        summary: "One job, with its completion once `succeeded`",
        responses: {
          "200": ok("The job.", ref("Job")),
          ...keyErrors,
          "404": error("`job_not_found`: unknown, expired, or another key's."),
        },
      },
    },
    "/v1/jobs/{id}/cancel": {
      parameters: [jobIdParam],
      post: {
        operationId: "cancelJob",
        summary: "Cancel a job: a queued one at once, a running one by aborting its upstream request",
        responses: {
          "200": ok(
            "The job: `cancelled`, or unchanged when it had already ended (`succeeded`/`failed`), or `running` with `cancel_requested` while another gateway stops it.",
            ref("Job"),
          ),
          ...keyErrors,
          "404": error("`job_not_found`."),
        },
      },
    },
  },
  components: {
    securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "An API key (`gk-…`)." } },
    schemas: {
      Error: errorSchema,
      Job: job,
      JobList: {
        type: "object",
        required: ["object", "data", "first_id", "last_id", "has_more"],
        properties: {
          object: { const: "list" },
          data: { type: "array", items: ref("Job") },
          first_id: { type: ["string", "null"] },
          last_id: { type: ["string", "null"] },
          has_more: { type: "boolean" },
        },
        additionalProperties: false,
      },
    },
  },
} as const;
