/**
 * Tiering's worked example (`npm run bench:tiering`): a mixed agent workload sent to the
 * local stack's router alias `auto` (EXAMPLE_ROUTER), then the savings report. The token
 * counts are the simulator's (it is not a tokenizer), so the ratio shows what the rules do
 * with this mix, not what a real model's answers would cost.
 *
 *   --requests N   how many requests (default 200); the mix below is fixed and seeded
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { adminClient } from "../../../harness/adminClient.ts";
import { startLocalStack } from "../../../harness/localStack.ts";
import type { SavingsRow } from "../savings.ts";

/** The workload: share of requests, and the request body each kind sends. */
export const MIX: ReadonlyArray<{
  kind: string;
  share: number;
  body: (i: number) => Record<string, unknown>;
}> = [
  {
    kind: "classify / extract",
    share: 0.45,
    body: (i) => ({
      max_tokens: 32,
      messages: [
        { role: "system", content: "You label support tickets." },
        {
          role: "user",
          content: `Classify the sentiment of ticket #${i}: "The update broke my login again."`,
        },
      ],
    }),
  },
  {
    kind: "tool call",
    share: 0.2,
    body: (i) => ({
      max_tokens: 128,
      messages: [{ role: "user", content: `Look up order ${1000 + i} and tell me when it ships.` }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_order",
            parameters: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
          },
        },
      ],
    }),
  },
  {
    kind: "reasoning",
    share: 0.15,
    body: (i) => ({
      max_tokens: 512,
      reasoning_effort: "high",
      messages: [
        { role: "user", content: `Plan a three-step migration for service ${i} with rollback points.` },
      ],
    }),
  },
  {
    kind: "general",
    share: 0.1,
    body: (i) => ({
      max_tokens: 256,
      messages: [{ role: "user", content: `Write release notes for version 2.${i} of our API.` }],
    }),
  },
  {
    kind: "economy hint",
    share: 0.1,
    body: (i) => ({
      max_tokens: 128,
      messages: [{ role: "user", content: `Draft a short reply thanking customer ${i} for feedback.` }],
      headers: { "x-gonka-tier": "economy" },
    }),
  },
];

export interface DemoResult {
  requests: number;
  byRoute: Record<string, number>;
  savings: SavingsRow;
}

export async function runSavingsDemo(
  requests: number,
  log: (line: string) => void = () => {},
): Promise<DemoResult> {
  const dir = mkdtempSync(join(tmpdir(), "gonka-tiering-demo-"));
  const stack = await startLocalStack({ dataDir: dir, port: 0 });
  try {
    const { gatewayUrl, apiKey, adminUrl, adminKey } = stack.info;
    const admin = adminClient(adminUrl!, adminKey!);
    const byRoute: Record<string, number> = {};
    let sent = 0;
    for (const { share, body } of MIX) {
      const n = Math.round(share * requests);
      for (let i = 0; i < n; i++) {
        const { headers, ...payload } = body(i) as { headers?: Record<string, string> };
        const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}`, ...headers },
          body: JSON.stringify({ model: "auto", ...payload }),
        });
        await res.text();
        if (res.status !== 200) throw new Error(`request ${sent}: HTTP ${res.status}`);
        const route = res.headers.get("x-gonka-route") ?? "?";
        byRoute[route] = (byRoute[route] ?? 0) + 1;
        sent++;
      }
      log(`sent ${sent} requests`);
    }
    // The report reads the store; rows arrive through the journal's batched import.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const data = (await admin("GET", "/admin/usage/savings"))["data"] as SavingsRow[];
      const row = data.find((r) => r.router === "auto");
      if (row && row.requests === sent) return { requests: sent, byRoute, savings: row };
      if (Date.now() > deadline)
        throw new Error(`savings report has ${row?.requests ?? 0} of ${sent} requests`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function print(result: DemoResult): void {
  const s = result.savings;
  const cents = (n: number | null) => (n === null ? "–" : `${n.toFixed(2)}¢`);
  console.log(`\n${result.requests} requests through \`auto\` (simulator token counts)\n`);
  console.log("| rule | requests |\n|---|---:|");
  for (const [route, n] of Object.entries(result.byRoute).sort()) console.log(`| ${route} | ${n} |`);
  console.log("\n| model | requests | prompt tokens | completion tokens | cost |\n|---|---:|---:|---:|---:|");
  for (const m of s.models) {
    console.log(
      `| ${m.model} | ${m.requests} | ${m.prompt_tokens} | ${m.completion_tokens} | ${cents(m.cost_cents)} |`,
    );
  }
  console.log(
    `\nserved: ${cents(s.cost_cents)}; all on ${s.baseline_model}: ${cents(s.baseline_cost_cents)}; ` +
      `saved ${cents(s.saved_cents)} (${s.saved_percent ?? "–"} %)`,
  );
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { requests: { type: "string", default: "200" } } });
  const n = Number(values.requests);
  if (!Number.isInteger(n) || n < 10) {
    console.error("--requests: a whole number, at least 10");
    process.exit(2);
  }
  print(await runSavingsDemo(n, (line) => console.error(line)));
}
