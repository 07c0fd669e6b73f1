/**
 * OpenAI's error object as a JSON Schema, for every OpenAPI document the gateway serves
 * (admin, sessions, memory): one definition, so the documents cannot disagree about it.
 */
export const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["message", "type", "param", "code"],
      properties: {
        message: { type: "string" },
        type: { type: "string" },
        param: { type: ["string", "null"] },
        code: { type: ["string", "null"] },
      },
    },
  },
} as const;
