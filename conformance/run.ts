/**
 * `npm run conformance -- --target staging` (or `--target local`, or
 * `--base-url URL --api-key K [--admin-key A]`): resolves the target once, runs
 * the suite under vitest with the target in the environment, and writes
 * reports/conformance/{junit.xml,results.json,report.md}. Exits non-zero when a
 * case fails. `--report-dir DIR` changes where the reports go.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { resolveTarget, targetOptionsFromArgs } from "../harness/targets.ts";
import { fetchInfo } from "./lib/gonka.ts";
import { renderReport, type VitestJson } from "./report.ts";

const ROOT = resolve(import.meta.dirname, "..");

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function runVitest(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const bin = resolve(ROOT, "node_modules", "vitest", "vitest.mjs");
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: ROOT, env, stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const reportDir = resolve(ROOT, flag(argv, "report-dir") ?? "reports/conformance");
  mkdirSync(reportDir, { recursive: true });
  const files = {
    junit: resolve(reportDir, "junit.xml"),
    json: resolve(reportDir, "results.json"),
    skips: resolve(reportDir, "skips.jsonl"),
    markdown: resolve(reportDir, "report.md"),
  };
  for (const f of Object.values(files)) rmSync(f, { force: true });

  const target = await resolveTarget({ ...targetOptionsFromArgs(argv), log: (l) => console.log(l) });
  try {
    console.log(`conformance: target ${target.name} at ${target.baseUrl}`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GONKA_BASE_URL: target.baseUrl,
      CONFORMANCE_SKIPS_FILE: files.skips,
    };
    delete env["GONKA_TARGET"];
    if (target.apiKey) env["GONKA_API_KEY"] = target.apiKey;
    if (target.adminKey) env["GONKA_ADMIN_KEY"] = target.adminKey;
    if (target.adminUrl) env["GONKA_ADMIN_URL"] = target.adminUrl;
    if (target.opsUrl) env["GONKA_OPS_URL"] = target.opsUrl;
    const code = await runVitest(
      [
        "run",
        "conformance/suite.test.ts",
        "--reporter=default",
        "--reporter=junit",
        `--outputFile.junit=${files.junit}`,
        "--reporter=json",
        `--outputFile.json=${files.json}`,
      ],
      env,
    );
    if (!existsSync(files.json)) {
      console.error("conformance: vitest wrote no JSON report; see its output above");
      return code || 1;
    }
    const results = JSON.parse(readFileSync(files.json, "utf8")) as VitestJson;
    const skips = new Map<string, string>();
    if (existsSync(files.skips)) {
      for (const line of readFileSync(files.skips, "utf8").split("\n").filter(Boolean)) {
        const { name, reason } = JSON.parse(line) as { name: string; reason: string };
        skips.set(name, reason);
      }
    }
    const { info } = await fetchInfo(target.opsUrl ?? target.baseUrl, target.apiKey);
    const markdown = renderReport({
      target: { name: target.name, baseUrl: target.baseUrl },
      gatewayVersion: info?.version,
      backends: (info?.models ?? []).map((m) => ({
        id: m.id,
        engine: m.engine,
        versions: m.backend_versions ?? (m.backend_version ? [m.backend_version] : []),
      })),
      results,
      skips,
      finishedAt: new Date(),
    });
    writeFileSync(files.markdown, markdown);
    console.log(`conformance: wrote ${files.markdown} and ${files.junit}`);
    return results.numFailedTests > 0 || !results.success ? 1 : code;
  } finally {
    await target.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`conformance: ${(err as Error).message}`);
    process.exit(2);
  },
);
