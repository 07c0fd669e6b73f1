/**
 * Checks on the manifests the Kubernetes provider writes in render mode
 * (`kubernetes:renderYamlToDirectory`) after a real `pulumi up`: what a cluster would receive.
 * Pure over the parsed documents, so the engine check and its unit test share them.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { getLayout, getPreset } from "../../catalog/index.ts";
import { k8sName } from "../specs/k8sModelServer.ts";

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  readonly [key: string]: unknown;
}

/** Every document under the render directory (`0-crd/`, `1-manifest/`). */
export function readRendered(dir: string): Manifest[] {
  const out: Manifest[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name))
        for (const doc of parseAllDocuments(readFileSync(p, "utf8"))) {
          const m = doc.toJS() as Manifest | null;
          if (m?.kind) out.push(m);
        }
    }
  };
  walk(dir);
  return out;
}

export interface ServedModel {
  readonly preset: string;
  readonly layout?: string;
  readonly replicas?: number;
}

interface Container {
  name: string;
  args?: string[];
  command?: string[];
  resources?: { limits?: Record<string, string | number> };
  startupProbe?: { httpGet?: { path?: string } };
  readinessProbe?: { httpGet?: { path?: string } };
}
interface PodSpec {
  containers: Container[];
}

/** The parts of Deployment and LeaderWorkerSet specs read here. */
interface RenderedSpec {
  replicas?: number;
  template: { spec: PodSpec };
  leaderWorkerTemplate: {
    size: number;
    leaderTemplate: { spec: PodSpec };
    workerTemplate: { spec: PodSpec };
  };
}

const flag = (args: readonly string[], name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

/** The engine pod templates per model: Deployment, or LeaderWorkerSet leader + worker. */
function enginePods(manifests: readonly Manifest[], model: string) {
  const named = manifests.filter((m) => m.metadata.name === model);
  const pods: { role: string; spec: PodSpec; replicas: unknown; size?: unknown }[] = [];
  for (const m of named) {
    const spec = m["spec"] as RenderedSpec;
    if (m.kind === "Deployment")
      pods.push({ role: "pod", spec: spec.template.spec, replicas: spec.replicas });
    if (m.kind === "LeaderWorkerSet") {
      const t = spec.leaderWorkerTemplate;
      pods.push({ role: "leader", spec: t.leaderTemplate.spec, replicas: spec.replicas, size: t.size });
      pods.push({ role: "worker", spec: t.workerTemplate.spec, replicas: spec.replicas, size: t.size });
    }
  }
  return pods;
}

/** Problems with the rendered manifests; empty when they serve `models` as the catalog says. */
export function manifestProblems(
  manifests: readonly Manifest[],
  models: readonly ServedModel[],
  secretValues: readonly string[],
): string[] {
  const problems: string[] = [];
  for (const entry of models) {
    const preset = getPreset(entry.preset);
    const layout = getLayout(preset, entry.layout);
    const name = k8sName(preset.id);
    const pods = enginePods(manifests, name);
    const where = `${preset.id} (${layout.id})`;
    if (pods.length === 0) {
      problems.push(`${where}: no Deployment or LeaderWorkerSet named ${name}`);
      continue;
    }
    const multiNode = layout.nodes > 1;
    if (multiNode !== pods.some((p) => p.role === "leader"))
      problems.push(`${where}: ${layout.nodes} node(s) but ${pods.map((p) => p.role).join("/")} pods`);
    for (const p of pods) {
      if (multiNode && p.size !== layout.nodes)
        problems.push(`${where}: LWS size ${p.size}, not ${layout.nodes}`);
      if ((p.replicas ?? 1) !== (entry.replicas ?? 1))
        problems.push(`${where}: ${p.role} replicas ${p.replicas}, not ${entry.replicas ?? 1}`);
      const engine = p.spec.containers[0];
      if (!engine) {
        problems.push(`${where}: ${p.role} has no container`);
        continue;
      }
      const gpus = Number(engine.resources?.limits?.["nvidia.com/gpu"]);
      if (gpus !== layout.gpusPerNode)
        problems.push(`${where}: ${p.role} limits nvidia.com/gpu ${gpus}, not ${layout.gpusPerNode}`);
      if (engine.command)
        problems.push(`${where}: ${p.role} overrides the image ENTRYPOINT (${engine.command})`);
      const args = engine.args ?? [];
      if (p.role !== "worker") {
        if (
          engine.startupProbe?.httpGet?.path !== "/health" ||
          engine.readinessProbe?.httpGet?.path !== "/health"
        )
          problems.push(`${where}: ${p.role} lacks startup and readiness probes on /health`);
      }
      if (preset.engine === "vllm") {
        const tp = Number(flag(args, "--tensor-parallel-size"));
        if (tp !== layout.tensorParallel) problems.push(`${where}: --tensor-parallel-size ${tp}`);
        if (multiNode && flag(args, "--nnodes") !== String(layout.nodes))
          problems.push(`${where}: ${p.role} --nnodes ${flag(args, "--nnodes")}`);
      }
      if (preset.id === "kimi-k2.5")
        for (const [f, v] of [
          ["--tool-call-parser", "kimi_k2"],
          ["--reasoning-parser", "kimi_k2"],
        ] as const)
          if (p.role !== "worker" && flag(args, f) !== v)
            problems.push(`${where}: ${f} ${flag(args, f)}, not ${v}`);
      if (preset.id === "kimi-k2.5" && !args.includes("--trust-remote-code"))
        problems.push(`${where}: ${p.role} lacks --trust-remote-code`);
    }
  }
  for (const cm of manifests.filter((m) => m.kind === "ConfigMap")) {
    const text = JSON.stringify(cm);
    for (const secret of secretValues)
      if (text.includes(secret)) problems.push(`ConfigMap ${cm.metadata.name} holds a secret value`);
  }
  return problems;
}
