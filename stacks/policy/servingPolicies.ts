/**
 * Policies for specs that would deploy cleanly and still never serve (issue 19): each one
 * catches a class of mistake that mocks cannot see and a GPU cluster finds hours later.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { getPreset } from "../../catalog/index.ts";
import { ENGINE_ENTRYPOINTS, effectiveArgv, engineArgvProblems } from "../specs/images.ts";
import {
  type Container,
  containersOf,
  DOCKER_CONTAINER,
  LWS,
  type Props,
  podTemplates,
  policy,
} from "./resources.ts";

const SERVICE = "kubernetes:core/v1:Service";

/** The catalog engine of a model-server label value, or undefined for anything else. */
function engineOf(model: string | undefined) {
  if (!model) return undefined;
  try {
    return getPreset(model).engine;
  } catch {
    return undefined;
  }
}

function under(path: string, dir: string): boolean {
  const d = dir.replace(/\/+$/, "");
  return path === d || path.startsWith(`${d}/`);
}

/**
 * Engines are started by their image's ENTRYPOINT; a container that overrides it, or passes the
 * executable again as an argument (`vllm serve vllm serve …`), runs something else.
 */
export const engineArgvMatchesEntrypoint = policy(
  "engine-argv-matches-entrypoint",
  "Model-server containers run their image's ENTRYPOINT once, with the engine arguments after it.",
  (type, props, report) => {
    if (type === DOCKER_CONTAINER) {
      const labels = (props["labels"] as { label: string; value: string }[] | undefined) ?? [];
      const engine = engineOf(labels.find((l) => l.label === "gonka.ai/model")?.value);
      if (!engine) return;
      const argv = effectiveArgv(ENGINE_ENTRYPOINTS[engine], {
        entrypoint: props["entrypoints"] as string[] | undefined,
        cmd: props["command"] as string[] | undefined,
      });
      for (const p of engineArgvProblems(engine, argv)) report(`model server container ${p}`);
      return;
    }
    for (const t of podTemplates(type, props)) {
      const engine = engineOf(t.metadata?.labels?.["gonka.ai/model"]);
      if (!engine) continue;
      for (const c of t.spec?.containers ?? []) {
        const argv = effectiveArgv(ENGINE_ENTRYPOINTS[engine], { entrypoint: c.command, cmd: c.args });
        for (const p of engineArgvProblems(engine, argv)) report(`container ${c.name} ${p}`);
      }
    }
  },
);

/** Env values that are paths into a read-only mount (HF_HOME under the weights volume, …). */
function readOnlyEnvPaths(c: Container): string[] {
  const ro = (c.volumeMounts ?? []).filter((m) => m.readOnly).map((m) => m.mountPath);
  return (c.env ?? [])
    .filter(
      (e) => typeof e.value === "string" && e.value.startsWith("/") && ro.some((d) => under(e.value!, d)),
    )
    .map((e) => `${e.name}=${e.value}`);
}

/**
 * A program told to write under a path (HF_HOME, caches, temp dirs) fails at runtime when that
 * path is a read-only mount; vLLM workers with --trust-remote-code write $HF_HOME/modules.
 */
export const envPathsWritable = policy(
  "env-paths-writable",
  "No environment variable points into a read-only volume mount.",
  (type, props, report) => {
    if (type === DOCKER_CONTAINER) {
      const ro = ((props["volumes"] as { containerPath?: string; readOnly?: boolean }[] | undefined) ?? [])
        .filter((v) => v.readOnly && v.containerPath)
        .map((v) => v.containerPath!);
      for (const e of (props["envs"] as string[] | undefined) ?? []) {
        const [name, ...rest] = e.split("=");
        const value = rest.join("=");
        if (value.startsWith("/") && ro.some((d) => under(value, d)))
          report(`docker container env ${name}=${value} points into a read-only mount`);
      }
      return;
    }
    for (const t of podTemplates(type, props))
      for (const c of containersOf(t))
        for (const e of readOnlyEnvPaths(c))
          report(`container ${c.name} env ${e} points into a read-only mount`);
  },
);

/**
 * The LeaderWorkerSet controller creates the group's headless Service under the LWS name, and
 * only if that name is free: a Service of ours with the same name either takes the pods' DNS
 * away (`$(LWS_LEADER_ADDRESS)` never resolves) or fails with AlreadyExists.
 */
export const serviceNameNotLws: StackValidationPolicy = {
  name: "service-name-not-lws",
  description: "No Service shares its name with a LeaderWorkerSet in the same namespace.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const key = (props: Props) => {
      const m = (props["metadata"] as { name?: string; namespace?: string } | undefined) ?? {};
      return m.name ? `${m.namespace ?? "default"}/${m.name}` : undefined;
    };
    const lws = new Set(args.resources.filter((r) => r.type === LWS).map((r) => key(r.props)));
    for (const r of args.resources)
      if (r.type === SERVICE && lws.has(key(r.props)))
        reportViolation(
          `${r.name}: Service ${key(r.props)} has the name of a LeaderWorkerSet (its headless Service)`,
        );
  },
};

export const SERVING_POLICIES = [engineArgvMatchesEntrypoint, envPathsWritable];
export const SERVING_STACK_POLICIES = [serviceNameNotLws];
