/**
 * The checks the gateway makes on `POST /v1/responses` before anything reaches an engine, with
 * OpenAI's wording where it has one. Unknown fields pass (engines judge what they support);
 * what the gateway itself cannot honour (background mode, conversations) is refused here.
 */
import { z } from "zod";
import { parseOr400 } from "../admin/validate.ts";
import { errors } from "../errors.ts";

const item = z.looseObject({ type: z.string().optional(), role: z.string().optional() });

const functionTool = z.looseObject({
  type: z.literal("function"),
  name: z.string().min(1).max(64),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
});
const tool = z.union([functionTool, z.looseObject({ type: z.string().refine((t) => t !== "function") })]);

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({ type: z.literal("function"), name: z.string().min(1) }),
  z.looseObject({ type: z.string() }),
]);

const body = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(item)]),
  instructions: z.string().nullable().optional(),
  previous_response_id: z.string().min(1).nullable().optional(),
  store: z.boolean().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  background: z.boolean().nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
});

const HELP = {
  input: "`input` must be a string or an array of input items (objects).",
  tools: "`tools` must be an array of tools; a function tool needs `name` (1-64 characters).",
  tool_choice: '`tool_choice` must be "none", "auto", "required" or {"type": "function", "name": …}.',
  metadata: "`metadata` must be an object of string values.",
  max_output_tokens: "`max_output_tokens` must be a positive integer.",
  temperature: "`temperature` must be a number between 0 and 2.",
  top_p: "`top_p` must be a number between 0 and 1.",
};

export type ResponsesBody = z.infer<typeof body>;

export function validateResponsesBody(raw: Record<string, unknown>): void {
  if (!("input" in raw) || raw["input"] === null) {
    throw errors.invalidRequest(
      "Missing required parameter: 'input'.",
      "input",
      "missing_required_parameter",
    );
  }
  const parsed = parseOr400(body, raw, "invalid_request_field", HELP, "field");
  if (parsed.background) {
    throw errors.invalidRequest(
      "Background responses are not supported by this gateway: send the request without `background` (stream it to see progress).",
      "background",
      "unsupported_parameter",
    );
  }
  if (raw["conversation"] !== undefined && raw["conversation"] !== null) {
    throw errors.invalidRequest(
      "`conversation` is not supported by this gateway: continue with `previous_response_id`.",
      "conversation",
      "unsupported_parameter",
    );
  }
  const choice = parsed.tool_choice;
  if (choice && typeof choice === "object" && choice.type === "function") {
    const name = (choice as { name: string }).name;
    if (!(parsed.tools ?? []).some((t) => t.type === "function" && (t as { name?: string }).name === name)) {
      throw errors.invalidRequest(`Tool choice '${name}' not found in 'tools' parameter.`, "tool_choice");
    }
  }
}
