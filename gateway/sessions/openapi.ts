/**
 * OpenAPI 3.1 for sessions: the public document (`/v1/sessions`, and the `X-Session-Id`
 * header on chat completions), served at `GET /gonka/openapi/sessions.json` on the
 * operational listener, and the admin paths, merged into `/admin/openapi.json`. Tests keep
 * both in step with the mounted routes and check live responses against the schemas.
 */
import { errorSchema } from "../errorSchema.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const ok = (description: string, schema: object) => ({ description, content: json(schema) });
const error = (description: string) => ({ description, content: json(ref("Error")) });

const sessionIdParam = {
  name: "id",
  in: "path",
  required: true,
  description: "Session id: 1–128 characters of `[A-Za-z0-9._:-]`.",
  schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
} as const;

const listParams = [
  {
    name: "limit",
    in: "query",
    description: "1–100, default 20.",
    schema: { type: "integer", minimum: 1, maximum: 100 },
  },
  {
    name: "after",
    in: "query",
    description: "`next_cursor` of the previous page.",
    schema: { type: "string" },
  },
] as const;

const usage = {
  type: "object",
  required: ["requests", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens"],
  properties: {
    requests: { type: "integer", description: "Turns stored." },
    prompt_tokens: { type: "integer" },
    completion_tokens: { type: "integer" },
    reasoning_tokens: { type: "integer" },
    cached_tokens: { type: "integer" },
  },
  additionalProperties: false,
} as const;

function sessionSchema(withKey: boolean, withMessages: boolean) {
  const required = [
    "id",
    "object",
    "created_at",
    "last_active_at",
    "expires_at",
    "metadata",
    "message_count",
    "bytes",
    "usage",
  ];
  return {
    type: "object",
    required: [...required, ...(withKey ? ["key_id"] : []), ...(withMessages ? ["messages"] : [])],
    properties: {
      id: { type: "string" },
      object: { const: "session" },
      ...(withKey ? { key_id: { type: "string", description: "The API key that owns the session." } } : {}),
      created_at: { type: "integer", description: "Unix seconds." },
      last_active_at: { type: "integer", description: "Unix seconds of the last turn." },
      expires_at: {
        type: "integer",
        description:
          "Unix seconds: last activity + the key's tier TTL (sliding). After it, the session is gone.",
      },
      metadata: { type: ["object", "null"] },
      message_count: { type: "integer" },
      bytes: { type: "integer", description: "Size of the stored messages' JSON; capped per tier." },
      usage,
      ...(withMessages
        ? {
            messages: {
              type: "array",
              description:
                "The conversation in order, each message as sent or answered (assistant turns keep `reasoning` and `tool_calls` with their ids).",
              items: { type: "object", required: ["role"], properties: { role: { type: "string" } } },
            },
          }
        : {}),
    },
    additionalProperties: false,
  };
}

const listSchema = (item: string) => ({
  type: "object",
  required: ["object", "data", "has_more", "next_cursor"],
  properties: {
    object: { const: "list" },
    data: { type: "array", items: ref(item) },
    has_more: { type: "boolean" },
    next_cursor: {
      type: ["string", "null"],
      description: "Pass as `after` for the next page; null on the last.",
    },
  },
  additionalProperties: false,
});

const deleted = {
  type: "object",
  required: ["id", "object", "deleted"],
  properties: { id: { type: "string" }, object: { const: "session.deleted" }, deleted: { const: true } },
  additionalProperties: false,
} as const;

/** Component schemas shared by both documents. */
export const sessionSchemas = {
  Session: sessionSchema(false, false),
  SessionWithMessages: sessionSchema(false, true),
  SessionList: listSchema("Session"),
  AdminSession: sessionSchema(true, false),
  AdminSessionWithMessages: sessionSchema(true, true),
  AdminSessionList: listSchema("AdminSession"),
  SessionDeleted: deleted,
  CreateSessionRequest: {
    type: "object",
    properties: { metadata: { type: ["object", "null"], description: "Any JSON object up to 16 KiB." } },
    additionalProperties: false,
  },
} as const;

/** `/admin/sessions…`, merged into the admin document. */
export const adminSessionPaths = {
  "/admin/sessions": {
    get: {
      operationId: "listSessions",
      summary: "Live sessions of every key (or of `key_id`), newest first",
      parameters: [...listParams, { name: "key_id", in: "query", schema: { type: "string" } }],
      responses: {
        "200": ok("One page.", ref("AdminSessionList")),
        "400": error("`invalid_list_query` or `invalid_cursor`."),
        "401": error("Missing or wrong admin token (`invalid_admin_key`)."),
      },
    },
  },
  "/admin/sessions/{key_id}/{id}": {
    parameters: [{ name: "key_id", in: "path", required: true, schema: { type: "string" } }, sessionIdParam],
    get: {
      operationId: "getSession",
      summary: "One session with its messages",
      responses: {
        "200": ok("The session.", ref("AdminSessionWithMessages")),
        "401": error("Missing or wrong admin token (`invalid_admin_key`)."),
        "404": error("`session_not_found` (unknown, or expired)."),
      },
    },
    delete: {
      operationId: "deleteSession",
      summary: "Delete a session and its messages",
      responses: {
        "200": ok("Deleted.", ref("SessionDeleted")),
        "401": error("Missing or wrong admin token (`invalid_admin_key`)."),
        "404": error("`session_not_found`."),
      },
    },
  },
} as const;

const keyErrors = { "401": error("Missing, invalid or revoked API key (`invalid_api_key`).") } as const;

export const sessionsOpenApi = {
  openapi: "3.1.0",
  info: {
    title: "Gonka gateway sessions API",
    version: "1.0.0",
    description:
      "Server-side conversation history. Send `X-Session-Id: <id>` on `POST /v1/chat/completions` (streamed or not): the gateway prepends the stored history when the client sends only new messages, detects a client that re-sends everything (nothing is duplicated), forks when the history diverges, and stores each successful turn. Sessions belong to the API key that created them; another key gets 404. Timestamps are unix seconds.",
  },
  security: [{ apiKey: [] }],
  paths: {
    "/v1/chat/completions": {
      post: {
        operationId: "createChatCompletionInSession",
        summary: "OpenAI's chat completions, as part of a stored conversation",
        parameters: [
          {
            name: "X-Session-Id",
            in: "header",
            required: false,
            description: "The session; created on its first turn. 1–128 characters of `[A-Za-z0-9._:-]`.",
            schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
          },
        ],
        requestBody: {
          required: true,
          description: "OpenAI's CreateChatCompletionRequest (`n` must be 1 with a session).",
          content: json({ type: "object" }),
        },
        responses: {
          "200": {
            description: "OpenAI's chat completion (JSON or SSE); the turn is stored before the answer ends.",
          },
          "400": error(
            "`invalid_session_id`, `session_n_unsupported`, or a per-tier cap: `session_message_limit`, `session_size_limit` (the message names the cap).",
          ),
          ...keyErrors,
          "409": error("`session_busy`: another request on this session is still running (retry after it)."),
        },
      },
    },
    "/v1/sessions": {
      get: {
        operationId: "listMySessions",
        summary: "This key's live sessions, newest first",
        parameters: listParams,
        responses: {
          "200": ok("One page.", ref("SessionList")),
          "400": error("`invalid_list_query` or `invalid_cursor`."),
          ...keyErrors,
        },
      },
      post: {
        operationId: "createSession",
        summary: "Create an empty session with a generated id (`sess_…`); the body is optional",
        requestBody: { required: false, content: json(ref("CreateSessionRequest")) },
        responses: {
          "200": ok("The new session.", ref("SessionWithMessages")),
          "400": error("`invalid_session_field`."),
          ...keyErrors,
        },
      },
    },
    "/v1/sessions/{id}": {
      parameters: [sessionIdParam],
      get: {
        operationId: "getMySession",
        summary: "One session: messages, usage totals, `expires_at`",
        responses: {
          "200": ok("The session.", ref("SessionWithMessages")),
          ...keyErrors,
          "404": error("`session_not_found`: unknown, expired, or another key's."),
        },
      },
      delete: {
        operationId: "deleteMySession",
        summary: "Delete a session and its messages",
        responses: {
          "200": ok("Deleted.", ref("SessionDeleted")),
          ...keyErrors,
          "404": error("`session_not_found`."),
        },
      },
    },
  },
  components: {
    securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "An API key (`gk-…`)." } },
    schemas: {
      Error: errorSchema,
      ...sessionSchemas,
    },
  },
} as const;
