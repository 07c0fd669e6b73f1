/** Turns zod failures into the gateway's 400s, naming the offending field in snake_case. */
import type { z } from "zod";
import { errors, type GatewayError } from "../errors.ts";

/** Human explanations per field; used instead of zod's generic text where we have one. */
export type FieldHelp = Readonly<Record<string, string>>;

export function invalidField(code: string, param: string | null, message: string): GatewayError {
  return errors.invalidRequest(message, param, code);
}

/** Parses `input` or throws a 400 for the first problem, with `param` set to the field's path. */
export function parseOr400<S extends z.ZodType>(
  schema: S,
  input: unknown,
  code: string,
  help: FieldHelp,
  what: string,
): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const field = issue.keys[0] ?? "";
    const known = Object.keys(help).join(", ");
    throw invalidField(code, field, `Unknown ${what} \`${field}\`; expected one of: ${known}.`);
  }
  const param = issue.path.map(String).join(".");
  if (param === "") {
    throw invalidField(code, null, `The request body must be a JSON object (${issue.message}).`);
  }
  const top = String(issue.path[0]);
  throw invalidField(code, param, help[top] ?? `\`${param}\`: ${issue.message}.`);
}
