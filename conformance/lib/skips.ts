/**
 * Skip reasons for the Markdown report. Vitest's JSON report records that a case
 * was skipped but not why, so when the runner sets CONFORMANCE_SKIPS_FILE each
 * skip is appended there as one JSON line.
 */
import { appendFileSync } from "node:fs";

export function recordSkip(name: string, reason: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = env["CONFORMANCE_SKIPS_FILE"];
  if (file) appendFileSync(file, `${JSON.stringify({ name, reason })}\n`);
}
