/**
 * The Markdown report of a conformance run, from vitest's JSON report plus what
 * the runner knows (target, versions, skip reasons). Pure: data in, text out.
 */

export interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTests: number;
  startTime: number;
  success: boolean;
  testResults: Array<{
    name: string;
    assertionResults: Array<{
      ancestorTitles: string[];
      title: string;
      status: "passed" | "failed" | "skipped" | "pending" | "todo" | "disabled";
      duration?: number | null;
      failureMessages: string[];
    }>;
  }>;
}

export interface ReportInput {
  target: { name: string; baseUrl: string };
  gatewayVersion: string | undefined;
  backends: Array<{ id: string; engine?: string | undefined; versions: string[] }>;
  results: VitestJson;
  /** Case name → why it skipped. */
  skips: ReadonlyMap<string, string>;
  finishedAt: Date;
}

const ICON: Record<string, string> = {
  passed: "✅ pass",
  failed: "❌ fail",
  skipped: "⏭️ skip",
  pending: "⏭️ skip",
};

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function renderReport(r: ReportInput): string {
  const res = r.results;
  const lines = [
    `# Conformance report: ${r.target.name}`,
    "",
    `- Target: \`${r.target.name}\` at ${r.target.baseUrl}`,
    `- Gateway version: ${r.gatewayVersion ?? "unknown (the target has no /gonka/info)"}`,
    `- Finished: ${r.finishedAt.toISOString()}`,
    `- Result: **${res.numFailedTests === 0 ? "PASS" : "FAIL"}**: ${res.numPassedTests} passed, ` +
      `${res.numFailedTests} failed, ${res.numPendingTests} skipped of ${res.numTotalTests}`,
    "",
  ];
  if (r.backends.length) {
    lines.push("## Backends", "", "| model | engine | version(s) |", "| --- | --- | --- |");
    for (const b of r.backends)
      lines.push(`| ${b.id} | ${b.engine ?? "?"} | ${b.versions.join(", ") || "?"} |`);
    lines.push("");
  }
  lines.push("## Cases", "", "| group | case | result | ms | detail |", "| --- | --- | --- | ---: | --- |");
  for (const file of res.testResults) {
    for (const a of file.assertionResults) {
      const detail =
        a.status === "failed"
          ? (a.failureMessages[0] ?? "").split("\n")[0]!.slice(0, 300)
          : a.status === "skipped" || a.status === "pending"
            ? (r.skips.get(a.title) ?? "")
            : "";
      const ms = a.duration == null ? "" : String(Math.round(a.duration));
      lines.push(
        `| ${cell(a.ancestorTitles.join(" › "))} | ${cell(a.title)} | ${ICON[a.status] ?? a.status} | ${ms} | ${cell(detail)} |`,
      );
    }
  }
  lines.push("");
  return lines.join("\n");
}
