/**
 * The target the conformance test files run against, resolved once per worker.
 * `npm run conformance` passes it in the environment (GONKA_BASE_URL, keys);
 * inside plain `npm test` nothing is set, so this starts a private local stack
 * under os.tmpdir() (never the developer's `.gonka` stack) and the test file's
 * afterAll stops it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveTarget, type Target, targetOptionsFromArgs } from "../harness/targets.ts";
import { createSuite, type SuiteContext } from "./lib/suite.ts";

export interface ConformanceTarget {
  target: Target;
  suite: SuiteContext;
  /** Revokes the suite's keys, stops what was started, removes the private data dir. */
  close(): Promise<void>;
}

let pending: Promise<ConformanceTarget> | undefined;

export function conformanceTarget(env: NodeJS.ProcessEnv = process.env): Promise<ConformanceTarget> {
  pending ??= open(env);
  return pending;
}

async function open(env: NodeJS.ProcessEnv): Promise<ConformanceTarget> {
  const opts = targetOptionsFromArgs([], env);
  let privateDir: string | undefined;
  if (!opts.baseUrl && (opts.target ?? "local") === "local" && !opts.dataDir) {
    privateDir = mkdtempSync(join(tmpdir(), "gonka-conformance-"));
    opts.dataDir = privateDir;
  }
  const target = await resolveTarget({ ...opts, log: (line) => console.log(`conformance: ${line}`) });
  try {
    const suite = await createSuite({
      baseUrl: target.baseUrl,
      adminUrl: target.adminUrl,
      opsUrl: target.opsUrl,
      apiKey: target.apiKey,
      adminKey: target.adminKey,
      log: (line) => console.log(line),
    });
    return {
      target,
      suite,
      async close() {
        try {
          await suite.close();
        } finally {
          await target.close();
          if (privateDir) rmSync(privateDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await target.close();
    if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    throw err;
  }
}
