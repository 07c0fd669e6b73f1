/**
 * `npm run check:engine`: the real Pulumi engine plans and renders every stack on the
 * kubernetes target (dev, staging, prod). For each: a fresh stack in a file backend under a
 * temporary folder, the README's deploy commands through the Automation API (throwaway
 * secrets, promoted image refs), `preview` with the policy pack, then `up` with the Kubernetes
 * provider in render mode and checks on the manifests it wrote. Finally prod is previewed
 * once more with a tag-only image ref, which the policy pack must refuse at preview.
 * The docker target is not covered here: its providers (docker, command) cannot be built
 * from the registries CI reaches; its mock tests remain (stacks/README.md).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation/index.js";
import { parse, stringify } from "yaml";
import { type ENVIRONMENTS, withPromotedRefs } from "../testing/stackFiles.ts";
import { asKubernetes } from "../testing/variants.ts";
import { manifestProblems, readRendered, type ServedModel } from "./manifests.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
type Env = (typeof ENVIRONMENTS)[number];

/**
 * The policy pack, started by its launcher: the CLI runs a directory pack through the Node
 * language host, which cannot be built from the Go module proxy; the launcher runs the same
 * run-policy-pack (stacks/policy/run.sh).
 */
const POLICY_PACK = join(ROOT, "stacks/policy/run.sh");

/** The `secure:` keys of the stack files: set per run to random values, never kept. */
const SECRET_KEYS = ["adminKey", "hfToken", "engineApiKey", "redisPassword"] as const;

function log(line: string): void {
  process.stderr.write(`check:engine: ${line}\n`);
}

/** Builds (or finds cached) the engine; stacks/engine/build.sh prints its bin folder last. */
function engineBin(): string {
  // A folder holding `pulumi` and `pulumi-resource-kubernetes` built elsewhere.
  const given = process.env["GONKA_ENGINE_BIN"];
  if (given) return given;
  const out = execFileSync("bash", [join(ROOT, "stacks/engine/build.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").at(-1) ?? "";
}

/** The committed stack file as the stack's config; dev moves to the kubernetes target. */
function stackFile(env: Env, workDir: string): ServedModel[] {
  const doc = parse(readFileSync(join(ROOT, `Pulumi.${env}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  if (env === "dev") {
    // dev's committed target is docker (built images on one box); here: kubernetes, with refs.
    const images = doc.config["gonka:images"] as Record<string, unknown>;
    const { build: _build, ...rest } = images;
    doc.config = asKubernetes({ ...doc.config, "gonka:images": rest });
  }
  writeFileSync(join(workDir, `Pulumi.${env}.yaml`), stringify(doc));
  return doc.config["gonka:models"] as ServedModel[];
}

interface Outcome {
  readonly errors: string[];
  readonly violations: string[];
  readonly steps: Map<string, number>;
  readonly types: Set<string>;
}

function watch(): { onEvent(e: EngineEvent): void; outcome: Outcome } {
  const outcome: Outcome = { errors: [], violations: [], steps: new Map(), types: new Set() };
  return {
    outcome,
    onEvent(e) {
      if (e.diagnosticEvent?.severity === "error") outcome.errors.push(e.diagnosticEvent.message.trim());
      if (e.policyEvent)
        outcome.violations.push(
          `${e.policyEvent.policyName}: ${e.policyEvent.message} (${e.policyEvent.resourceUrn ?? ""})`,
        );
      const pre = e.resourcePreEvent?.metadata;
      if (pre) {
        outcome.steps.set(pre.op, (outcome.steps.get(pre.op) ?? 0) + 1);
        outcome.types.add(pre.type);
      }
    },
  };
}

let run = 0;
/** The program: stacks/index.ts, imported afresh each run (its top level registers resources). */
const program = async () => {
  const url = `${pathToFileURL(join(ROOT, "stacks/index.ts")).href}?engine-check=${++run}`;
  return { ...((await import(url)) as Record<string, unknown>) };
};

async function openStack(
  env: Env,
  tmp: string,
  bin: string,
): Promise<{ stack: Stack; models: ServedModel[] }> {
  const workDir = join(tmp, `project-${env}`);
  mkdirSync(join(workDir, "stacks"), { recursive: true });
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(workDir, "Pulumi.yaml"));
  const models = stackFile(env, workDir);
  mkdirSync(join(tmp, "state"), { recursive: true });
  const pulumiCommand = await PulumiCommand.get({ root: join(bin, ".."), skipVersionCheck: false });
  const ws = await LocalWorkspace.create({
    workDir,
    program,
    pulumiCommand,
    pulumiHome: join(tmp, "home"),
    envVars: {
      PULUMI_BACKEND_URL: `file://${join(tmp, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PATH: `${bin}:${process.env["PATH"] ?? ""}`,
      GONKA_POLICY_NODE: process.execPath,
    },
  });
  // `pulumi stack init <env>` (README, "Deploying").
  const stack = await Stack.create(env, ws);
  return { stack, models };
}

/** The README's `pulumi config set` lines, with throwaway values and CI's promoted refs. */
async function configure(stack: Stack, env: Env, manifests: string): Promise<string[]> {
  const secrets = SECRET_KEYS.map(
    (key) => [key, `throwaway-${key}-${randomBytes(12).toString("hex")}`] as const,
  );
  for (const [key, value] of secrets) await stack.setConfig(`gonka:${key}`, { value, secret: true });
  const config = (await stack.getAllConfig()) as Record<string, { value: string }>;
  const images = JSON.parse(config["gonka:images"]?.value ?? "{}") as Record<string, unknown>;
  const refs = withPromotedRefs({ "gonka:images": images }, env)["gonka:images"] as {
    refs?: Record<string, string>;
  };
  for (const [image, ref] of Object.entries(refs.refs ?? {}))
    await stack.setConfig(`gonka:images.refs.${image}`, { value: ref }, true);
  // CI has no cluster and no internet: record Helm charts, write manifests to a folder.
  await stack.setConfig("gonka:kubernetes.offlineCharts", { value: "true" }, true);
  await stack.setConfig("kubernetes:renderYamlToDirectory", { value: manifests });
  return secrets.map(([, v]) => v);
}

async function checkStack(env: Env, tmp: string, bin: string): Promise<string[]> {
  const problems: string[] = [];
  const started = Date.now();
  const { stack, models } = await openStack(env, tmp, bin);
  const manifests = join(tmp, `manifests-${env}`);
  const secrets = await configure(stack, env, manifests);
  const policyPacks = [POLICY_PACK];
  const preview = watch();
  // `pulumi preview --policy-pack stacks/policy`
  await stack.preview({ policyPacks, onEvent: preview.onEvent }).catch((e: Error) => {
    problems.push(`preview failed: ${e.message.split("\n").slice(-15).join("\n")}`);
  });
  const planned = [...preview.outcome.steps].map(([op, n]) => `${op} ${n}`).join(", ");
  log(
    `${env}: preview ${planned} (${preview.outcome.types.size} types) in ${Math.round((Date.now() - started) / 1000)}s`,
  );
  problems.push(...preview.outcome.errors.map((e) => `preview error: ${e}`));
  problems.push(...preview.outcome.violations.map((v) => `policy violation: ${v}`));
  const others = [...preview.outcome.steps.keys()].filter((op) => op !== "create" && op !== "same");
  if (others.length > 0) problems.push(`a fresh stack planned ${others.join(", ")}, not only creates`);
  for (const type of [
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Service",
  ])
    if (!preview.outcome.types.has(type)) problems.push(`the plan has no ${type}`);
  if ([...preview.outcome.types].some((t) => t.startsWith("docker-build:")))
    problems.push("the plan builds images; CI's refs should have been deployed");
  if (problems.length > 0) return problems.map((p) => `${env}: ${p}`);
  // `pulumi up`, rendering instead of applying.
  const up = watch();
  const upStarted = Date.now();
  await stack.up({ policyPacks, onEvent: up.onEvent }).catch((e: Error) => {
    problems.push(`up failed: ${e.message.split("\n").slice(-15).join("\n")}`);
  });
  problems.push(...up.outcome.errors.map((e) => `up error: ${e}`), ...up.outcome.violations);
  const rendered = readRendered(manifests);
  log(`${env}: up rendered ${rendered.length} manifests in ${Math.round((Date.now() - upStarted) / 1000)}s`);
  problems.push(...manifestProblems(rendered, models, secrets));
  return problems.map((p) => `${env}: ${p}`);
}

/** prod with a tag-only gateway ref: the mandatory `images-pinned` policy must stop the preview. */
async function checkPolicyBites(tmp: string, bin: string): Promise<string[]> {
  const { stack } = await openStack("prod", join(tmp, "negative"), bin);
  await configure(stack, "prod", join(tmp, "negative", "manifests"));
  await stack.setConfig("gonka:images.refs.gateway", { value: "ghcr.io/gonka-ai/gonka-gateway:prod" }, true);
  const w = watch();
  const failed = await stack.preview({ policyPacks: [POLICY_PACK], onEvent: w.onEvent }).then(
    () => false,
    () => true,
  );
  const pinned = w.outcome.violations.filter(
    (v) => v.startsWith("images-pinned") && v.includes("gonka-gateway:prod"),
  );
  log(
    `prod with a tag-only ref: preview ${failed ? "refused" : "passed"}, ${pinned.length} images-pinned violation(s)`,
  );
  return failed && pinned.length > 0
    ? []
    : ["prod: a tag-only image ref passed preview (images-pinned did not bite)"];
}

async function main(): Promise<void> {
  const started = Date.now();
  const bin = engineBin();
  log(`engine ready in ${Math.round((Date.now() - started) / 1000)}s (${bin})`);
  const tmp = mkdtempSync(join(tmpdir(), "gonka-engine-check-"));
  const envs = (process.argv.slice(2).length ? process.argv.slice(2) : ["dev", "staging", "prod"]) as Env[];
  const problems: string[] = [];
  try {
    for (const env of envs) problems.push(...(await checkStack(env, tmp, bin)));
    if (envs.includes("prod")) problems.push(...(await checkPolicyBites(tmp, bin)));
  } finally {
    if (!process.env["GONKA_ENGINE_CHECK_KEEP"]) rmSync(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
  const secs = Math.round((Date.now() - started) / 1000);
  if (problems.length > 0) {
    for (const p of problems) log(`FAIL ${p}`);
    log(`${problems.length} problem(s) in ${secs}s`);
    process.exit(1);
  }
  log(`${envs.join(", ")}: planned, policies enforced, manifests rendered and checked in ${secs}s`);
}

await main();
