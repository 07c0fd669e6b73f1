/**
 * The shape of a scenario file as both runners read it. No imports: the k6 scripts
 * (loadtests/k6/, type-checked with k6's types, not Node's) use it too. scenario.ts checks
 * that its zod schema produces exactly this shape, so the two cannot drift apart.
 */
export interface Bound {
  min?: number | undefined;
  max?: number | undefined;
}

export interface ScenarioData {
  description: string;
  model: string;
  vus: number;
  thinkTimeMs: number;
  durationSeconds: number;
  requests?: number | undefined;
  stream: boolean | "mixed";
  maxTokens: number;
  prompt: string;
  sessions?: { turns: number } | undefined;
  tier?: string | undefined;
  thresholds: {
    errorRate: Bound;
    p95LatencyMs?: Bound | undefined;
    p95TtftMs?: Bound | undefined;
    share429: Bound;
  };
}
