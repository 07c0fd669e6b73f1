/**
 * What every k6 script here shares: options and thresholds from a scenario file, a key on
 * the scenario's tier made in setup() and revoked in teardown(), and one iteration (one
 * request, or one conversation of `sessions.turns` requests under an X-Session-Id).
 *
 * Target, as for the other harnesses (harness/targets.ts): GONKA_BASE_URL and GONKA_API_KEY,
 * or GONKA_ADMIN_URL and GONKA_ADMIN_KEY to make a fresh key on the scenario's tier; GONKA_MODEL
 * overrides the scenario's model.
 *
 * k6 reads no SSE stream incrementally, so time to first token is time to first byte
 * (`timings.waiting`) of streamed 200s: the gateway sends its headers with the first chunk.
 */
import { check, sleep } from "k6";
import exec from "k6/execution";
import http from "k6/http";
import { Rate, Trend } from "k6/metrics";
import type { Options } from "k6/options";
import type { Bound, ScenarioData } from "../scenarioData.ts";
import { type K6SummaryData, summaryMarkdown } from "./summary.ts";

export interface SetupData {
  apiKey: string;
  keyId?: string;
}

const errors = new Rate("gonka_errors");
const refused = new Rate("gonka_429");
const malformed429 = new Rate("gonka_malformed_429");
const latency = new Trend("gonka_latency_ok", true);
const ttft = new Trend("gonka_ttft", true);

function conditions(bound: Bound, stat: string): string[] {
  return [
    ...(bound.min === undefined ? [] : [`${stat}>=${bound.min}`]),
    ...(bound.max === undefined ? [] : [`${stat}<=${bound.max}`]),
  ];
}

export function optionsFor(s: ScenarioData): Options {
  const t = s.thresholds;
  return {
    scenarios: {
      main: s.requests
        ? {
            executor: "shared-iterations",
            vus: s.vus,
            iterations: s.requests,
            maxDuration: `${s.durationSeconds}s`,
          }
        : { executor: "constant-vus", vus: s.vus, duration: `${s.durationSeconds}s` },
    },
    thresholds: {
      gonka_errors: conditions(t.errorRate, "rate"),
      gonka_429: conditions(t.share429, "rate"),
      gonka_malformed_429: ["rate<=0"],
      ...(t.p95LatencyMs ? { gonka_latency_ok: conditions(t.p95LatencyMs, "p(95)") } : {}),
      ...(t.p95TtftMs ? { gonka_ttft: conditions(t.p95TtftMs, "p(95)") } : {}),
    },
    summaryTrendStats: ["avg", "p(50)", "p(95)", "p(99)", "max"],
  };
}

function adminCall(method: "GET" | "POST", path: string, body?: unknown): Record<string, unknown> {
  const res = http.request(
    method,
    `${__ENV["GONKA_ADMIN_URL"]}${path}`,
    body === undefined ? null : JSON.stringify(body),
    {
      headers: { authorization: `Bearer ${__ENV["GONKA_ADMIN_KEY"]}`, "content-type": "application/json" },
    },
  );
  if (res.status !== 200)
    throw new Error(`admin ${method} ${path} answered ${res.status}: ${String(res.body)}`);
  return res.json() as Record<string, unknown>;
}

export function setupFor(s: ScenarioData, name: string): SetupData {
  // 429s are an expected answer here, not a failed request: counted by gonka_429 instead.
  http.setResponseCallback(http.expectedStatuses(200, 429));
  if (__ENV["GONKA_ADMIN_KEY"] && __ENV["GONKA_ADMIN_URL"]) {
    const tiers = adminCall("GET", "/admin/tiers")["data"] as { name: string; requests_per_minute: number }[];
    const tier = s.tier ?? [...tiers].sort((a, b) => b.requests_per_minute - a.requests_per_minute)[0]?.name;
    const created = adminCall("POST", "/admin/keys", { name: `k6-${name}-${Date.now()}`, tier });
    return { apiKey: created["secret"] as string, keyId: (created["key"] as { id: string }).id };
  }
  const apiKey = __ENV["GONKA_API_KEY"];
  if (!apiKey) throw new Error("set GONKA_API_KEY, or GONKA_ADMIN_URL and GONKA_ADMIN_KEY");
  return { apiKey };
}

export function teardownFor(data: SetupData): void {
  if (data.keyId) adminCall("POST", `/admin/keys/${data.keyId}/revoke`);
}

export function iterationFor(s: ScenarioData, data: SetupData): void {
  const base = (__ENV["GONKA_BASE_URL"] ?? "").replace(/\/+$/, "");
  const sessionId = s.sessions ? `k6-${exec.vu.idInTest}-${exec.scenario.iterationInTest}` : undefined;
  const messages = [
    { role: "system", content: `You are agent ${exec.vu.idInTest}.` },
    { role: "user", content: s.prompt },
  ];
  for (let turn = 0; turn < (s.sessions?.turns ?? 1); turn++) {
    const stream = s.stream === "mixed" ? (exec.scenario.iterationInTest + turn) % 2 === 0 : s.stream;
    const res = http.post(
      `${base}/v1/chat/completions`,
      JSON.stringify({ model: __ENV["GONKA_MODEL"] ?? s.model, messages, max_tokens: s.maxTokens, stream }),
      {
        headers: {
          authorization: `Bearer ${data.apiKey}`,
          "content-type": "application/json",
          ...(sessionId ? { "x-session-id": sessionId } : {}),
        },
        timeout: "120s",
      },
    );
    const body = typeof res.body === "string" ? res.body : "";
    const whole = stream ? body.trimEnd().endsWith("data: [DONE]") : body.includes('"choices"');
    const ok = res.status === 200 && whole;
    refused.add(res.status === 429);
    errors.add(!ok && res.status !== 429);
    if (res.status === 429) {
      const retryAfter = res.headers["Retry-After"] ?? "";
      malformed429.add(!/^\d+$/.test(retryAfter) || !body.includes('"error"'));
    }
    check(res, { "200 whole or 429": () => ok || res.status === 429 });
    if (!ok) return; // a refused turn ends the conversation
    latency.add(res.timings.duration);
    if (stream) ttft.add(res.timings.waiting);
    const reply = stream ? "" : ((res.json("choices.0.message.content") as string | null) ?? "");
    messages.push(
      { role: "assistant", content: reply },
      { role: "user", content: `Continue (${turn + 1}).` },
    );
    if (s.thinkTimeMs > 0) sleep(s.thinkTimeMs / 1_000);
  }
}

/**
 * k6's handleSummary: Markdown and JSON under reports/k6/ (the nightly workflow appends the
 * Markdown to the job summary and uploads both), and the Markdown on stdout.
 */
export function summaryFor(name: string, data: K6SummaryData): Record<string, string> {
  const markdown = summaryMarkdown(name, __ENV["GONKA_TARGET_NAME"] ?? __ENV["GONKA_BASE_URL"] ?? "?", data);
  return {
    stdout: markdown,
    [`reports/k6/${name}.md`]: markdown,
    [`reports/k6/${name}.json`]: JSON.stringify(data, null, 2),
  };
}
