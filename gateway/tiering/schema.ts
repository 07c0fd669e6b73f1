/**
 * Router aliases (AGNT-03): a request whose `model` is a router's alias is sent, by the
 * first matching rule, to a concrete model, with a fallback list for when that model
 * cannot serve. Checked at load by `checkRouters`, whose messages name the router, the
 * rule and the field.
 */
import { z } from "zod";

/** Every condition is optional; a rule matches when all the conditions it gives hold. */
export const conditionsSchema = z.strictObject({
  /** Estimated prompt tokens (text of all messages and tool definitions, about 4 characters a token). */
  promptTokensAtMost: z.number().int().nonnegative().optional(),
  promptTokensAtLeast: z.number().int().nonnegative().optional(),
  /** The request offers tools (`tools` non-empty, `tool_choice` not `none`), or does not. */
  tools: z.boolean().optional(),
  /** The request asks for structured output (`response_format` other than `text`), or does not. */
  responseFormat: z.boolean().optional(),
  /**
   * The request asks for reasoning: `reasoning_effort` low/medium/high, or thinking switched
   * on (`chat_template_kwargs.thinking` / `enable_thinking` true); or does not.
   */
  reasoning: z.boolean().optional(),
  /** `reasoning_effort` is one of these. */
  reasoningEffort: z.array(z.string().min(1)).min(1).optional(),
  /** An image in any message's content, or none. */
  images: z.boolean().optional(),
  /** A regular expression (case-insensitive) searched in the last user message's text. */
  lastUserMessage: z.string().min(1).optional(),
  /** How many messages the conversation has, including the new one. */
  messagesAtMost: z.number().int().positive().optional(),
  messagesAtLeast: z.number().int().positive().optional(),
  /** The `x-gonka-tier` request header is one of these. */
  tierHint: z
    .array(z.enum(["economy", "premium"]))
    .min(1)
    .optional(),
  /** The API key's tier is one of these. */
  keyTier: z.array(z.string().min(1)).min(1).optional(),
  /** The router's classifier answered one of these labels (asked only when a rule needs it). */
  classifier: z.array(z.string().min(1)).min(1).optional(),
});

export const ruleSchema = z.strictObject({
  /** Shown in `x-gonka-route`, usage rows and explain; unique within the router. */
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "1–64 letters, digits, `.`, `_` or `-`"),
  when: conditionsSchema,
  /** Model id or alias that serves a match. */
  model: z.string().min(1),
  /** Tried in order when `model` has no healthy replica, answers 503 or times out before its first byte. */
  fallback: z.array(z.string().min(1)).default([]),
  /**
   * A conversation (`X-Session-Id`) stays on the model that first answered it through this
   * alias (tool-call ids and reasoning formats differ between models); a matching rule with
   * `overrideSession: true` moves it to the rule's model instead.
   */
  overrideSession: z.boolean().default(false),
});

export const routerSchema = z.strictObject({
  /** The name clients send as `model` (`auto`); must not be a model's id or alias. */
  alias: z.string().min(1),
  rules: z.array(ruleSchema).default([]),
  /** What serves a request no rule matched. */
  default: z.strictObject({ model: z.string().min(1), fallback: z.array(z.string().min(1)).default([]) }),
  /**
   * The model every request would have gone to without tiering: the savings report prices
   * the tokens served at its prices. Default: the default model.
   */
  baseline: z.string().min(1).optional(),
  /** A cheap model asked for a one-word verdict, for rules with a `classifier` condition. */
  classifier: z
    .strictObject({
      model: z.string().min(1),
      /** The words it may answer; anything else counts as unsure and matches no rule. */
      labels: z.array(z.string().regex(/^[a-z][a-z0-9_-]*$/, "lower-case words")).min(2),
      /** Longer than this and the verdict is unsure (the request goes on without it). */
      timeoutMs: z.number().int().positive().max(30_000).default(1_500),
      /** What to judge; the labels are appended. */
      instructions: z
        .string()
        .min(1)
        .default("Classify how hard the user's request is for a language model."),
    })
    .optional(),
});

export type RouterConfig = z.infer<typeof routerSchema>;
export type RouterConfigInput = z.input<typeof routerSchema>;
export type RuleConfig = z.infer<typeof ruleSchema>;
export type Conditions = z.infer<typeof conditionsSchema>;

interface ModelNames {
  /** Every id and alias → the model's id. */
  readonly owners: ReadonlyMap<string, string>;
  readonly chatModels: ReadonlySet<string>;
  readonly tiers: ReadonlySet<string>;
}

type Issue = { path: (string | number)[]; message: string };

/** Cross-field checks of the routers against the models and tiers (the schema checks shapes). */
export function checkRouters(routers: readonly RouterConfig[], names: ModelNames): Issue[] {
  const issues: Issue[] = [];
  const aliases = new Set<string>();
  routers.forEach((router, r) => {
    const at = (...path: (string | number)[]) => ["routers", r, ...path];
    const where = `router "${router.alias}"`;
    if (names.owners.has(router.alias)) {
      issues.push({
        path: at("alias"),
        message: `${where}: the alias is already the name of model ${names.owners.get(router.alias)}`,
      });
    }
    if (aliases.has(router.alias)) issues.push({ path: at("alias"), message: `${where}: alias used twice` });
    aliases.add(router.alias);
    const model = (name: string, path: (string | number)[], what: string) => {
      const id = names.owners.get(name);
      if (id === undefined) issues.push({ path, message: `${what}: unknown model "${name}"` });
      else if (!names.chatModels.has(id))
        issues.push({ path, message: `${what}: model ${id} does not serve chat` });
    };
    model(router.default.model, at("default", "model"), `${where} default`);
    for (const [i, f] of router.default.fallback.entries()) {
      model(f, at("default", "fallback", i), `${where} default fallback`);
    }
    if (router.baseline) model(router.baseline, at("baseline"), `${where} baseline`);
    if (router.classifier) model(router.classifier.model, at("classifier", "model"), `${where} classifier`);
    const ruleNames = new Set<string>();
    router.rules.forEach((rule, i) => {
      const what = `${where} rule "${rule.name}"`;
      if (ruleNames.has(rule.name))
        issues.push({ path: at("rules", i, "name"), message: `${what}: name used twice` });
      ruleNames.add(rule.name);
      model(rule.model, at("rules", i, "model"), what);
      for (const [j, f] of rule.fallback.entries())
        model(f, at("rules", i, "fallback", j), `${what} fallback`);
      const w = rule.when;
      if (Object.values(w).every((v) => v === undefined)) {
        issues.push({ path: at("rules", i, "when"), message: `${what}: give at least one condition` });
      }
      if (w.lastUserMessage !== undefined) {
        try {
          new RegExp(w.lastUserMessage, "iu");
        } catch (err) {
          issues.push({
            path: at("rules", i, "when", "lastUserMessage"),
            message: `${what}: not a regular expression: ${(err as Error).message}`,
          });
        }
      }
      for (const tier of w.keyTier ?? []) {
        if (!names.tiers.has(tier)) {
          issues.push({
            path: at("rules", i, "when", "keyTier"),
            message: `${what}: unknown tier "${tier}" (configured: ${[...names.tiers].join(", ")})`,
          });
        }
      }
      if (w.classifier) {
        const labels = router.classifier?.labels;
        const unknown = w.classifier.filter((l) => !labels?.includes(l));
        if (!labels || unknown.length > 0) {
          issues.push({
            path: at("rules", i, "when", "classifier"),
            message: labels
              ? `${what}: label(s) ${unknown.join(", ")} are not among the classifier's labels (${labels.join(", ")})`
              : `${what}: uses a classifier condition but the router has no \`classifier\``,
          });
        }
      }
      const range = (lo: number | undefined, hi: number | undefined, field: string) => {
        if (lo !== undefined && hi !== undefined && lo > hi) {
          issues.push({ path: at("rules", i, "when", field), message: `${what}: ${field} range is empty` });
        }
      };
      range(w.promptTokensAtLeast, w.promptTokensAtMost, "promptTokensAtMost");
      range(w.messagesAtLeast, w.messagesAtMost, "messagesAtMost");
    });
  });
  return issues;
}
