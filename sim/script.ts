import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { ConversationView } from "./chatRequest.ts";

/**
 * Scripted replies: ordered rules matched against the conversation, first
 * match wins; no match falls back to the generator. Lets agent scenarios be
 * replayed deterministically without a model.
 */

const MatchSchema = z
  .object({
    lastUserContains: z.string().optional(),
    lastUserRegex: z.string().optional(),
    lastRole: z.enum(["user", "tool", "assistant", "system"]).optional(),
    toolResultContains: z.string().optional(),
    systemContains: z.string().optional(),
    hasTool: z.string().optional(),
    turn: z.number().int().positive().optional(),
  })
  .strict();

const ToolCallReplySchema = z
  .object({
    name: z.string().min(1),
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).default({}),
  })
  .strict();

const ReplySchema = z
  .object({
    content: z.string().optional(),
    reasoning: z.string().optional(),
    toolCalls: z.array(ToolCallReplySchema).optional(),
  })
  .strict();

const RuleSchema = z
  .object({
    name: z.string().optional(),
    match: MatchSchema.default({}),
    reply: ReplySchema,
  })
  .strict();

export const ScriptSchema = z.object({ rules: z.array(RuleSchema) }).strict();

export type Script = z.infer<typeof ScriptSchema>;
export type ScriptRule = Script["rules"][number];
export type ScriptReply = ScriptRule["reply"];

/** A script with its regexes compiled once, not per request. */
export interface CompiledScript {
  rules: { rule: ScriptRule; regex: RegExp | undefined }[];
}

export function parseScript(value: unknown): Script {
  const result = ScriptSchema.safeParse(value);
  if (!result.success) throw new Error(`invalid simulator script: ${z.prettifyError(result.error)}`);
  return result.data;
}

export function compileScript(script: Script): CompiledScript {
  return {
    rules: script.rules.map((rule) => {
      let regex: RegExp | undefined;
      if (rule.match.lastUserRegex !== undefined) {
        try {
          regex = new RegExp(rule.match.lastUserRegex, "s");
        } catch (err) {
          throw new Error(
            `script rule ${rule.name ?? "(unnamed)"}: bad lastUserRegex: ${(err as Error).message}`,
          );
        }
      }
      return { rule, regex };
    }),
  };
}

export async function loadScriptFile(file: string): Promise<Script> {
  const text = await readFile(file, "utf8");
  const value: unknown = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  return parseScript(value);
}

function matches(m: ScriptRule["match"], regex: RegExp | undefined, view: ConversationView): boolean {
  if (m.lastRole !== undefined && view.lastRole !== m.lastRole) return false;
  if (m.turn !== undefined && view.turn !== m.turn) return false;
  if (m.lastUserContains !== undefined && !view.lastUserText.includes(m.lastUserContains)) return false;
  if (regex && !regex.test(view.lastUserText)) return false;
  if (m.toolResultContains !== undefined && !(view.lastToolResult ?? "").includes(m.toolResultContains)) {
    return false;
  }
  if (m.systemContains !== undefined && !view.systemText.includes(m.systemContains)) return false;
  if (m.hasTool !== undefined && !view.toolNames.includes(m.hasTool)) return false;
  return true;
}

export function matchScript(
  script: CompiledScript | undefined,
  view: ConversationView,
): ScriptRule | undefined {
  if (!script) return undefined;
  for (const { rule, regex } of script.rules) if (matches(rule.match, regex, view)) return rule;
  return undefined;
}
