/**
 * `node loadtests/k6Env.ts --target <stack>`: the k6 scripts' target variables for a stack, as
 * `NAME=value` lines (for $GITHUB_ENV), read the way every harness here reads a target
 * (harness/targets.ts: the stack's `gatewayUrl`, `adminUrl`, `apiKey`, `adminKey`, `models`
 * outputs; or --base-url and the rest). GONKA_MODEL is set only when the stack lists its
 * models and does not serve the scenarios' model.
 */
import { resolveEndpoints, targetOptionsFromArgs } from "../harness/targets.ts";
import { loadScenario, scenarioNames } from "./scenario.ts";

export async function k6Env(
  argv: readonly string[],
  pulumi?: (args: string[]) => Promise<string>,
): Promise<string[]> {
  const target = await resolveEndpoints({
    ...targetOptionsFromArgs(argv),
    log: (l) => console.error(l),
    ...(pulumi ? { pulumi } : {}),
  });
  try {
    const wanted = new Set(scenarioNames().map((n) => loadScenario(n).model));
    const lines = [`GONKA_BASE_URL=${target.baseUrl}`, `GONKA_TARGET_NAME=${target.name}`];
    if (target.adminUrl && target.adminKey) {
      lines.push(`GONKA_ADMIN_URL=${target.adminUrl}`, `GONKA_ADMIN_KEY=${target.adminKey}`);
    }
    if (target.apiKey) lines.push(`GONKA_API_KEY=${target.apiKey}`);
    if (!target.apiKey && !(target.adminUrl && target.adminKey)) {
      throw new Error(`${target.name} gives neither an API key nor an admin URL and key`);
    }
    const served = target.models;
    if (served.length > 0 && ![...wanted].every((m) => served.includes(m)))
      lines.push(`GONKA_MODEL=${served[0]}`);
    return lines;
  } finally {
    await target.close();
  }
}

if (import.meta.main) {
  k6Env(process.argv.slice(2)).then(
    (lines) => console.log(lines.join("\n")),
    (err: unknown) => {
      console.error(`k6Env: ${(err as Error).message}`);
      process.exitCode = 2;
    },
  );
}
