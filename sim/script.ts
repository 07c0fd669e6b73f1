import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { ConversationView } from "./chatRequest.ts";

/**
 * Scripted replies: ordered rules matched against the conversation, first match wins; no match
 * falls back to the generator, or, in `strict` mode, to a clear error. Lets agent scenarios be
 * replayed deterministically without a model, and makes a request nobody scripted loud.
 */

const RoleSchema = z.enum(["user", "tool", "assistant", "system"]);

/** A condition on the messages of one role: any of them, the first or the last. */
const MessageMatchSchema = z
  .object({
    role: RoleSchema,
    which: z.enum(["any", "first", "last"]).default("any"),
    contains: z.string().optional(),
    regex: z.string().optional(),
  })
  .strict();

const MatchSchema = z
  .object({
    lastUserContains: z.string().optional(),
    lastUserRegex: z.string().optional(),
    lastRole: RoleSchema.optional(),
    toolResultContains: z.string().optional(),
    toolResultRegex: z.string().optional(),
    systemContains: z.string().optional(),
    /** The request offers this tool (or every tool of the list). */
    hasTool: z.union([z.string(), z.array(z.string())]).optional(),
    /** true: the request offers no tools (a framework's text-ReAct path). */
    noTools: z.boolean().optional(),
    /** Name of the last tool the assistant called in the conversation. */
    lastToolName: z.string().optional(),
    /** One condition or a list, all of which must hold. */
    message: z.union([MessageMatchSchema, z.array(MessageMatchSchema)]).optional(),
    turn: z.number().int().positive().optional(),
    /** The request's `X-Session-Id` header. */
    sessionId: z.string().optional(),
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
    /** Overrides the finish reason (a `max_tokens` cut still says `length`). */
    finishReason: z.enum(["stop", "length", "tool_calls"]).optional(),
  })
  .strict();

/** Answer the rule's Nth hits (1-based) with an HTTP error instead, to exercise client retries. */
const ErrorSchema = z
  .object({
    status: z.union([z.literal(400), z.literal(429), z.literal(500), z.literal(503)]).default(500),
    message: z.string().optional(),
    onHits: z.array(z.number().int().positive()).default([1]),
  })
  .strict();

const RuleSchema = z
  .object({
    name: z.string().optional(),
    match: MatchSchema.default({}),
    reply: ReplySchema,
    /** Extra wait before the first byte of this rule's reply. */
    delayMs: z.number().int().nonnegative().optional(),
    error: ErrorSchema.optional(),
  })
  .strict();

export const ScriptSchema = z
  .object({
    /** Unmatched chat requests get an error naming their last messages instead of generated text. */
    strict: z.boolean().default(false),
    rules: z.array(RuleSchema),
  })
  .strict();

export type Script = z.input<typeof ScriptSchema>;
type ParsedScript = z.output<typeof ScriptSchema>;
export type ScriptRule = ParsedScript["rules"][number];
export type ScriptReply = ScriptRule["reply"];
type MessageMatch = z.output<typeof MessageMatchSchema>;

interface CompiledMessageMatch extends MessageMatch {
  re: RegExp | undefined;
}

interface CompiledRule {
  rule: ScriptRule;
  lastUser: RegExp | undefined;
  toolResult: RegExp | undefined;
  messages: CompiledMessageMatch[];
}

/** A script with its regexes compiled once, not per request, and its hit counters. */
export interface CompiledScript {
  strict: boolean;
  rules: CompiledRule[];
  /** Hits per rule, in rule order (counted by the chat route, not by matching alone). */
  hits: number[];
  unmatched: number;
}

export function parseScript(value: unknown): ParsedScript {
  const result = ScriptSchema.safeParse(value);
  if (!result.success) throw new Error(`invalid simulator script: ${z.prettifyError(result.error)}`);
  return result.data;
}

function regexOf(source: string | undefined, rule: ScriptRule, what: string): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source, "s");
  } catch (err) {
    throw new Error(`script rule ${rule.name ?? "(unnamed)"}: bad ${what}: ${(err as Error).message}`);
  }
}

/** Parses (when not yet parsed) and compiles; throws a readable Error on any mistake. */
export function compileScript(script: Script): CompiledScript {
  const parsed = parseScript(script);
  const rules = parsed.rules.map((rule) => {
    const m = rule.match;
    const list = m.message === undefined ? [] : Array.isArray(m.message) ? m.message : [m.message];
    return {
      rule,
      lastUser: regexOf(m.lastUserRegex, rule, "lastUserRegex"),
      toolResult: regexOf(m.toolResultRegex, rule, "toolResultRegex"),
      messages: list.map((c) => ({ ...c, re: regexOf(c.regex, rule, "message.regex") })),
    };
  });
  return { strict: parsed.strict, rules, hits: rules.map(() => 0), unmatched: 0 };
}

/** Reads a .yaml/.yml or .json script file and validates it. */
export async function loadScriptFile(file: string): Promise<ParsedScript> {
  const text = await readFile(file, "utf8");
  return parseScriptText(text, /\.ya?ml$/i.test(file) ? "yaml" : "json");
}

/** A script sent as text (`POST /sim/script`); YAML is a superset of JSON, so `yaml` reads both. */
export function parseScriptText(text: string, format: "yaml" | "json" = "yaml"): ParsedScript {
  return parseScript(format === "yaml" ? parseYaml(text) : JSON.parse(text));
}

function textHolds(text: string, contains: string | undefined, re: RegExp | undefined): boolean {
  if (contains !== undefined && !text.includes(contains)) return false;
  return re === undefined || re.test(text);
}

function messageHolds(c: CompiledMessageMatch, view: ConversationView): boolean {
  const texts = view.messages.filter((m) => m.role === c.role).map((m) => m.text);
  if (texts.length === 0) return false;
  if (c.which === "first") return textHolds(texts[0]!, c.contains, c.re);
  if (c.which === "last") return textHolds(texts[texts.length - 1]!, c.contains, c.re);
  return texts.some((t) => textHolds(t, c.contains, c.re));
}

function matches(compiled: CompiledRule, view: ConversationView): boolean {
  const m = compiled.rule.match;
  if (m.lastRole !== undefined && view.lastRole !== m.lastRole) return false;
  if (m.turn !== undefined && view.turn !== m.turn) return false;
  if (m.sessionId !== undefined && view.sessionId !== m.sessionId) return false;
  if (!textHolds(view.lastUserText, m.lastUserContains, compiled.lastUser)) return false;
  if (m.toolResultContains !== undefined || compiled.toolResult !== undefined) {
    if (view.lastToolResult === null) return false;
    if (!textHolds(view.lastToolResult, m.toolResultContains, compiled.toolResult)) return false;
  }
  if (m.systemContains !== undefined && !view.systemText.includes(m.systemContains)) return false;
  if (m.hasTool !== undefined) {
    const wanted = Array.isArray(m.hasTool) ? m.hasTool : [m.hasTool];
    if (!wanted.every((name) => view.toolNames.includes(name))) return false;
  }
  if (m.noTools !== undefined && (view.toolNames.length === 0) !== m.noTools) return false;
  if (m.lastToolName !== undefined && view.lastToolName !== m.lastToolName) return false;
  return compiled.messages.every((c) => messageHolds(c, view));
}

/** Index of the first rule that matches, or -1. Pure: counts nothing. */
export function matchIndex(script: CompiledScript | undefined, view: ConversationView): number {
  if (!script) return -1;
  return script.rules.findIndex((r) => matches(r, view));
}

export function matchScript(
  script: CompiledScript | undefined,
  view: ConversationView,
): ScriptRule | undefined {
  const at = matchIndex(script, view);
  return at < 0 ? undefined : script!.rules[at]!.rule;
}

/** Per-rule hit counts for `/sim/stats`. */
export function scriptStats(script: CompiledScript | undefined) {
  if (!script) return null;
  return {
    strict: script.strict,
    rules: script.rules.map((r, i) => ({ name: r.rule.name ?? `#${i + 1}`, hits: script.hits[i] ?? 0 })),
    unmatched: script.unmatched,
  };
}

export function resetScriptStats(script: CompiledScript | undefined): void {
  if (!script) return;
  script.hits.fill(0);
  script.unmatched = 0;
}
