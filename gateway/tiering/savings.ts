/**
 * The savings report: for each group (key, session, period), the tokens each model served
 * for a router alias at that model's prices, the classifier's own cost, and what the same
 * prompt and completion tokens would have cost on the router's baseline model. Costs are
 * US cents from the models' `price` (per million tokens; the catalog's prices); a model
 * without a price makes the costs it enters null rather than a guess.
 */
import type { ModelConfig } from "../config/schema.ts";
import type { UsageGroupField, UsageSummaryRow } from "../store/index.ts";
import type { RouterConfig } from "./schema.ts";

export interface SavingsModelRow {
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_cents: number | null;
}

export interface SavingsRow {
  router: string;
  key_id?: string | null;
  session_id?: string | null;
  period?: string;
  baseline_model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  models: SavingsModelRow[];
  classifier: Omit<SavingsModelRow, "model"> | null;
  /** What was served, the classifier included. */
  cost_cents: number | null;
  /** The same prompt and completion tokens on the baseline model (no classifier). */
  baseline_cost_cents: number | null;
  saved_cents: number | null;
  saved_percent: number | null;
}

const round = (n: number) => Math.round(n * 10_000) / 10_000;

export function savingsRows(
  router: RouterConfig,
  models: readonly ModelConfig[],
  groupBy: readonly UsageGroupField[],
  served: readonly UsageSummaryRow[],
  classifier: readonly UsageSummaryRow[],
): SavingsRow[] {
  const byName = new Map<string, ModelConfig>();
  for (const m of models) for (const name of [m.id, ...m.aliases]) byName.set(name, m);
  const baseline = byName.get(router.baseline ?? router.default.model)!;
  const cost = (model: string | undefined, prompt: number, completion: number) => {
    const price = model === undefined ? undefined : byName.get(model)?.price;
    return price ? (prompt * price.input + completion * price.output) / 1_000_000 : null;
  };
  const groupKey = (r: UsageSummaryRow) => JSON.stringify(groupBy.map((g) => groupValue(r, g)));
  const out = new Map<string, SavingsRow>();
  const rowFor = (r: UsageSummaryRow) => {
    const id = groupKey(r);
    let row = out.get(id);
    if (!row) {
      row = {
        router: router.alias,
        ...(groupBy.includes("key") ? { key_id: r.keyId ?? null } : {}),
        ...(groupBy.includes("session") ? { session_id: r.sessionId ?? null } : {}),
        ...(groupBy.includes("period") ? { period: r.period! } : {}),
        baseline_model: baseline.id,
        requests: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        models: [],
        classifier: null,
        cost_cents: 0,
        baseline_cost_cents: 0,
        saved_cents: null,
        saved_percent: null,
      };
      out.set(id, row);
    }
    return row;
  };
  const add = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b);
  for (const r of served) {
    const row = rowFor(r);
    const c = cost(r.model, r.promptTokens, r.completionTokens);
    row.models.push({
      model: r.model ?? "",
      requests: r.requests,
      prompt_tokens: r.promptTokens,
      completion_tokens: r.completionTokens,
      cost_cents: c === null ? null : round(c),
    });
    row.requests += r.requests;
    row.prompt_tokens += r.promptTokens;
    row.completion_tokens += r.completionTokens;
    row.cost_cents = add(row.cost_cents, c);
    row.baseline_cost_cents = add(
      row.baseline_cost_cents,
      cost(baseline.id, r.promptTokens, r.completionTokens),
    );
  }
  for (const r of classifier) {
    const row = rowFor(r);
    const c = cost(r.model, r.promptTokens, r.completionTokens);
    const prev = row.classifier ?? { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_cents: 0 };
    row.classifier = {
      requests: prev.requests + r.requests,
      prompt_tokens: prev.prompt_tokens + r.promptTokens,
      completion_tokens: prev.completion_tokens + r.completionTokens,
      cost_cents: add(prev.cost_cents, c),
    };
    row.cost_cents = add(row.cost_cents, c);
  }
  return [...out.values()].map((row) => {
    const saved =
      row.cost_cents === null || row.baseline_cost_cents === null
        ? null
        : row.baseline_cost_cents - row.cost_cents;
    return {
      ...row,
      cost_cents: row.cost_cents === null ? null : round(row.cost_cents),
      baseline_cost_cents: row.baseline_cost_cents === null ? null : round(row.baseline_cost_cents),
      classifier: row.classifier && {
        ...row.classifier,
        cost_cents: row.classifier.cost_cents === null ? null : round(row.classifier.cost_cents),
      },
      saved_cents: saved === null ? null : round(saved),
      saved_percent:
        saved === null || !row.baseline_cost_cents
          ? null
          : Math.round((saved / row.baseline_cost_cents) * 1000) / 10,
    };
  });
}

function groupValue(r: UsageSummaryRow, g: UsageGroupField): unknown {
  return { key: r.keyId, session: r.sessionId, period: r.period, model: r.model }[g] ?? null;
}
