/**
 * First match wins: each rule's conditions against a request's features, with the value
 * each condition saw, so `explain` can say why. The classifier is asked (through
 * `classify`) only when a rule that needs it is reached, and at most once per request.
 */
import type { RequestFeatures } from "./features.ts";
import type { Conditions, RouterConfig } from "./schema.ts";

export interface ConditionResult {
  field: keyof Conditions;
  expected: unknown;
  actual: unknown;
  matched: boolean;
}

export interface RuleResult {
  rule: string;
  matched: boolean;
  conditions: ConditionResult[];
}

export interface RouteDecision {
  router: string;
  /** The matching rule's name, `default`, or `session` when the conversation keeps its model. */
  rule: string;
  /** The model this session was answered by before, when it had one. */
  session?: string | null;
  /** Model names as configured (id or alias), first the one to use, then its fallbacks. */
  models: string[];
  /** The classifier's verdict when it was asked; `unsure` when it timed out or said something else. */
  classifier: string | null;
  trace: RuleResult[];
}

/** The classifier's answer: a label, or null when it was slow, failed or unsure. */
export type Classify = () => Promise<string | null>;

export async function decideRoute(
  router: RouterConfig,
  features: RequestFeatures,
  classify: Classify,
): Promise<RouteDecision> {
  const trace: RuleResult[] = [];
  let verdict: string | null | undefined;
  for (const rule of router.rules) {
    if (rule.when.classifier && verdict === undefined) verdict = await classify();
    const conditions = checkConditions(rule.when, features, verdict ?? null);
    const matched = conditions.every((c) => c.matched);
    trace.push({ rule: rule.name, matched, conditions });
    if (matched) {
      return {
        router: router.alias,
        rule: rule.name,
        models: [rule.model, ...rule.fallback],
        classifier: verdict === undefined ? null : (verdict ?? "unsure"),
        trace,
      };
    }
  }
  return {
    router: router.alias,
    rule: "default",
    models: [router.default.model, ...router.default.fallback],
    classifier: verdict === undefined ? null : (verdict ?? "unsure"),
    trace,
  };
}

export function checkConditions(
  when: Conditions,
  f: RequestFeatures,
  verdict: string | null,
): ConditionResult[] {
  const out: ConditionResult[] = [];
  const add = (field: keyof Conditions, expected: unknown, actual: unknown, matched: boolean) =>
    out.push({ field, expected, actual, matched });
  if (when.promptTokensAtMost !== undefined)
    add(
      "promptTokensAtMost",
      when.promptTokensAtMost,
      f.promptTokens,
      f.promptTokens <= when.promptTokensAtMost,
    );
  if (when.promptTokensAtLeast !== undefined)
    add(
      "promptTokensAtLeast",
      when.promptTokensAtLeast,
      f.promptTokens,
      f.promptTokens >= when.promptTokensAtLeast,
    );
  if (when.tools !== undefined) add("tools", when.tools, f.tools, f.tools === when.tools);
  if (when.responseFormat !== undefined)
    add("responseFormat", when.responseFormat, f.responseFormat, f.responseFormat === when.responseFormat);
  if (when.reasoning !== undefined)
    add("reasoning", when.reasoning, f.reasoning, f.reasoning === when.reasoning);
  if (when.reasoningEffort !== undefined)
    add(
      "reasoningEffort",
      when.reasoningEffort,
      f.reasoningEffort,
      f.reasoningEffort !== null && when.reasoningEffort.includes(f.reasoningEffort),
    );
  if (when.images !== undefined) add("images", when.images, f.images, f.images === when.images);
  if (when.lastUserMessage !== undefined) {
    const matched = compiled(when.lastUserMessage).test(f.lastUserMessage);
    add("lastUserMessage", when.lastUserMessage, f.lastUserMessage.slice(0, 200), matched);
  }
  if (when.messagesAtMost !== undefined)
    add("messagesAtMost", when.messagesAtMost, f.messages, f.messages <= when.messagesAtMost);
  if (when.messagesAtLeast !== undefined)
    add("messagesAtLeast", when.messagesAtLeast, f.messages, f.messages >= when.messagesAtLeast);
  if (when.tierHint !== undefined)
    add("tierHint", when.tierHint, f.tierHint, f.tierHint !== null && when.tierHint.includes(f.tierHint));
  if (when.keyTier !== undefined)
    add("keyTier", when.keyTier, f.keyTier, f.keyTier !== null && when.keyTier.includes(f.keyTier));
  if (when.classifier !== undefined)
    add(
      "classifier",
      when.classifier,
      verdict ?? "unsure",
      verdict !== null && when.classifier.includes(verdict),
    );
  return out;
}

/** Patterns come from the config (checked at load), a handful per gateway: compiled once each. */
const patterns = new Map<string, RegExp>();
function compiled(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    re = new RegExp(pattern, "iu");
    patterns.set(pattern, re);
  }
  return re;
}
