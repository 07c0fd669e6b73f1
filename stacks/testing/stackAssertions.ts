/**
 * The acceptance checks every stack run must pass, whatever the environment and
 * target. Each reads resources the way a reviewer would: find the engine
 * containers, read their command lines, GPUs, probes and volumes.
 */
import { expect } from "vitest";
import { getPreset } from "../../catalog/index.ts";
import { parseStackConfig } from "../config.ts";
import { evaluatePolicies, podTemplates } from "../policy/policies.ts";
import { ENGINE_ENTRYPOINTS, effectiveArgv } from "../specs/images.ts";
import { type CapturedResource, SECRET_SIG_KEY, type StackRun } from "./runStack.ts";
import { DUMMY_SECRETS, projectConfig } from "./stackFiles.ts";

/** One engine process as deployed: its argv, GPUs, probes and shm, whichever target made it. */
export interface EngineView {
  readonly model: string;
  readonly role: "single" | "leader" | "worker";
  /** The argv the container really runs: the image ENTRYPOINT composed with the container's overrides. */
  readonly command: string[];
  readonly gpus: number;
  readonly healthPaths: string[];
  readonly shm: boolean;
  readonly env: Record<string, string>;
}

function isSecretWrapper(v: unknown): v is { value: unknown } {
  return Boolean(v && typeof v === "object" && SECRET_SIG_KEY in (v as object));
}

/** Strips secret wrappers the way the CLI hands props to policies. */
export function unwrapSecrets(v: unknown): unknown {
  if (isSecretWrapper(v)) return unwrapSecrets(v.value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

/** Paths (e.g. `stringData.adminKey`) where a dummy secret appears outside a secret wrapper. */
export function plaintextSecretPaths(v: unknown, path = ""): string[] {
  if (isSecretWrapper(v)) return [];
  if (typeof v === "string")
    return Object.values(DUMMY_SECRETS).some((s) => v.includes(s)) ? [path || "(root)"] : [];
  if (Array.isArray(v)) return v.flatMap((x, i) => plaintextSecretPaths(x, `${path}[${i}]`));
  if (v && typeof v === "object")
    return Object.entries(v).flatMap(([k, x]) => plaintextSecretPaths(x, path ? `${path}.${k}` : k));
  return [];
}

export function engineViews(resources: readonly CapturedResource[]): EngineView[] {
  const views: EngineView[] = [];
  for (const r of resources) {
    const props = unwrapSecrets(r.inputs) as Record<string, any>;
    if (r.type === "docker:index/container:Container") {
      const labels = Object.fromEntries(
        ((props.labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]),
      );
      const model = labels["gonka.ai/model"];
      if (!model) continue;
      const multi = props.networkMode === "host";
      views.push({
        model,
        role: multi ? (labels["gonka.ai/role"] as "leader" | "worker") : "single",
        command: effectiveArgv(ENGINE_ENTRYPOINTS[getPreset(model).engine], {
          entrypoint: props.entrypoints,
          cmd: props.command,
        }),
        gpus: props.deviceRequests?.[0]?.deviceIds?.length ?? 0,
        healthPaths: props.healthcheck ? [(props.healthcheck.tests as string[]).join(" ")] : [],
        shm: props.ipcMode === "host" && props.shmSize >= 16 * 1024,
        env: Object.fromEntries((props.envs as string[]).map((e) => e.split("=") as [string, string])),
      });
      continue;
    }
    for (const t of podTemplates(r.type, props)) {
      const model = t.metadata?.labels?.["gonka.ai/model"];
      if (!model) continue;
      const c = (t.spec?.containers ?? [])[0] as Record<string, any>;
      const role = (t.metadata?.labels?.["gonka.ai/role"] ?? "single") as EngineView["role"];
      const shmVolume = ((t.spec as any).volumes ?? []).find((v: any) => v.emptyDir?.medium === "Memory");
      views.push({
        model: getPreset(model).id,
        role,
        command: effectiveArgv(ENGINE_ENTRYPOINTS[getPreset(model).engine], {
          entrypoint: c.command,
          cmd: c.args,
        }),
        gpus: Number(c.resources?.limits?.["nvidia.com/gpu"] ?? 0),
        healthPaths: ["startupProbe", "readinessProbe", "livenessProbe"]
          .filter((p) => c[p])
          .map((p) => c[p].httpGet.path),
        shm: Boolean(
          shmVolume &&
            c.volumeMounts.some((m: any) => m.name === shmVolume.name && m.mountPath === "/dev/shm"),
        ),
        env: Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value])),
      });
    }
  }
  return views;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Everything issue 5 asks of a stack run; `values` is the config the run used. */
export function assertStackInvariants(
  run: StackRun,
  values: Record<string, unknown>,
  /** Policies this run must violate (and no other), e.g. prod on Docker's single gateway. */
  expectedViolations: readonly string[] = [],
): void {
  // Which keys are secrets is checked by the program run itself; here every key counts as one.
  const projected = projectConfig(values);
  const cfg = parseStackConfig(projected, Object.keys(projected));
  const views = engineViews(run.resources);

  for (const m of cfg.models) {
    const mine = views.filter((v) => v.model === m.preset.id);
    // Kubernetes: one template per role; Docker: one container per node of each replica.
    expect(mine.length, `${m.preset.id} engine processes`).toBeGreaterThan(0);
    for (const v of mine) {
      const tp = Number(flag(v.command, "--tensor-parallel-size") ?? m.layout.tensorParallel);
      const pp = Number(flag(v.command, "--pipeline-parallel-size") ?? 1);
      expect(v.gpus, `${m.preset.id} GPUs per node`).toBe(m.layout.gpusPerNode);
      expect(v.gpus * m.layout.nodes, `${m.preset.id} GPUs = TP × PP`).toBe(tp * pp);
      expect(v.shm, `${m.preset.id} /dev/shm`).toBe(true);
      expect(v.env["HF_HUB_OFFLINE"]).toBe("1");
      if (v.role !== "worker") {
        expect(v.healthPaths.length, `${m.preset.id} probes`).toBeGreaterThan(0);
        for (const p of v.healthPaths) expect(p).toMatch(/\/health\b/);
      }
      if (m.preset.id === "kimi-k2.5") {
        expect(v.command.slice(0, 2)).toEqual(["vllm", "serve"]);
        expect(flag(v.command, "--tool-call-parser")).toBe("kimi_k2");
        expect(flag(v.command, "--reasoning-parser")).toBe("kimi_k2");
        expect(v.command).toContain("--enable-auto-tool-choice");
        expect(v.command).toContain("--trust-remote-code");
      }
      if (m.preset.engine === "llamacpp") {
        expect(v.command[0]).toBe("/app/llama-server");
        expect(v.command).toContain("--jinja");
      }
    }
    if (m.layout.nodes > 1) {
      const leaders = mine.filter((v) => v.role === "leader");
      const workers = mine.filter((v) => v.role === "worker");
      expect(leaders.length).toBeGreaterThan(0);
      expect(workers.length).toBeGreaterThan(0);
      for (const v of [...leaders, ...workers]) {
        expect(flag(v.command, "--nnodes")).toBe(String(m.layout.nodes));
        expect(flag(v.command, "--pipeline-parallel-size")).toBe(String(m.layout.pipelineParallel));
      }
      for (const l of leaders) expect(flag(l.command, "--node-rank")).toBe("0");
      for (const w of workers) {
        expect(flag(w.command, "--node-rank")).toBe("1");
        expect(w.command).toContain("--headless");
        // Every worker rendezvous with a leader of the same group.
        expect(leaders.map((l) => flag(l.command, "--master-addr") ?? "")).toContain(
          flag(w.command, "--master-addr"),
        );
      }
    }
  }
  expect(new Set(views.map((v) => v.model))).toEqual(new Set(cfg.models.map((m) => m.preset.id)));

  // No dummy secret in clear in any resource input.
  const leaks = run.resources.flatMap((r) =>
    plaintextSecretPaths(r.inputs).map((p) => `${r.type} ${r.name}: ${p}`),
  );
  expect(leaks).toEqual([]);
  expect(run.secretOutputs).toContain("adminKey");
  expect(run.outputs["adminKey"]).toBe(DUMMY_SECRETS["gonka:adminKey"]);

  // The gateway config lists exactly the deployed models, with their replicas and the configured tiers.
  const gw = JSON.parse(run.outputs["gatewayConfig"] as string);
  expect(gw.models.map((m: { id: string }) => m.id).sort()).toEqual(
    cfg.models.map((m) => m.preset.id).sort(),
  );
  for (const m of cfg.models) {
    const entry = gw.models.find((x: { id: string }) => x.id === m.preset.id);
    // Docker: one URL per replica. Kubernetes: the pods are discovered (scaleAssertions.ts checks how).
    if (cfg.target === "docker")
      expect(entry.replicas.length, `${m.preset.id} replicas in gateway config`).toBe(m.replicas);
    else expect(entry.discovery?.kind, `${m.preset.id} discovery in gateway config`).toBe("kubernetes");
    expect(entry.aliases).toEqual(expect.arrayContaining([...m.extraAliases]));
  }
  if (cfg.gateway.tiers) expect(Object.keys(gw.tiers).sort()).toEqual(Object.keys(cfg.gateway.tiers).sort());
  expect(gw.listen).toEqual({ host: "0.0.0.0", port: cfg.gateway.port });

  // Components parent their children: every resource under a component has the component type in its URN.
  expect(run.urns.some((u) => u.includes("gonka:models:ModelServer$"))).toBe(true);
  expect(run.urns.some((u) => u.includes("gonka:gateway:Gateway$"))).toBe(true);

  // The policy pack passes.
  const violations = evaluatePolicies(
    run.resources.map((r) => ({
      type: r.type,
      name: r.name,
      props: unwrapSecrets(r.inputs) as Record<string, unknown>,
    })),
  );
  expect(violations.map((v) => v.policy)).toEqual(expectedViolations);
}
