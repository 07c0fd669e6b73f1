/**
 * The Gonka policy pack's rules, as plain `@pulumi/policy` resource policies so
 * tests can call them over mock-captured resources and `pulumi preview
 * --policy-pack stacks/policy` runs the same code against a real plan.
 */
import type {
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { isDigestPinned } from "../specs/images.ts";
import {
  containersOf,
  DOCKER_CONTAINER,
  isModelServer,
  type Props,
  podTemplates,
  policy,
  SECRET_ENV,
} from "./resources.ts";
import { SCALE_POLICIES, SCALE_STACK_POLICIES } from "./scalePolicies.ts";
import { SERVING_POLICIES, SERVING_STACK_POLICIES } from "./servingPolicies.ts";

export { podTemplates } from "./resources.ts";

export const noPrivilegedContainers = policy(
  "no-privileged-containers",
  "No container runs privileged or may escalate privileges.",
  (type, props, report) => {
    if (type === DOCKER_CONTAINER && props["privileged"] === true) report("docker container is privileged");
    for (const t of podTemplates(type, props))
      for (const c of containersOf(t)) {
        if (c.securityContext?.privileged) report(`container ${c.name} is privileged`);
        if (c.securityContext?.allowPrivilegeEscalation !== false)
          report(`container ${c.name} must set allowPrivilegeEscalation: false`);
      }
  },
);

export const gpuLimitsOnModelServers = policy(
  "gpu-limits-on-model-servers",
  "Every model-server container asks for its GPUs explicitly (nvidia.com/gpu limit, or Docker device request).",
  (type, props, report) => {
    if (type === DOCKER_CONTAINER) {
      const labels = (props["labels"] as { label: string; value: string }[] | undefined) ?? [];
      if (!labels.some((l) => l.label === "gonka.ai/model")) return;
      const requests =
        (props["deviceRequests"] as { deviceIds?: string[]; count?: number }[] | undefined) ?? [];
      if (!requests.some((r) => (r.deviceIds?.length ?? 0) > 0 || (r.count ?? 0) > 0))
        report("model server container has no GPU device request");
      return;
    }
    for (const t of podTemplates(type, props)) {
      if (!isModelServer(t)) continue;
      for (const c of t.spec?.containers ?? []) {
        const gpus = Number(c.resources?.limits?.["nvidia.com/gpu"] ?? 0);
        if (!(gpus >= 1)) report(`model server container ${c.name} has no nvidia.com/gpu limit`);
      }
    }
  },
);

export const resourceRequestsEverywhere = policy(
  "resource-requests-everywhere",
  "Every Kubernetes container requests CPU and memory, so GPU nodes are not overcommitted.",
  (type, props, report) => {
    for (const t of podTemplates(type, props))
      for (const c of containersOf(t))
        for (const r of ["cpu", "memory"])
          if (!c.resources?.requests?.[r]) report(`container ${c.name} has no ${r} request`);
  },
);

export const imagesPinned = policy(
  "images-pinned",
  "Deployed images are pinned by digest; engine bases too where the stack requires it.",
  (type, props, report) => {
    for (const t of podTemplates(type, props))
      for (const c of containersOf(t))
        if (!c.image || !isDigestPinned(c.image))
          report(`container ${c.name} image ${c.image} is not digest-pinned`);
    if (type === DOCKER_CONTAINER && !isDigestPinned(String(props["image"])))
      report(`docker container image ${String(props["image"])} is not digest-pinned`);
    if (type === "docker:index/remoteImage:RemoteImage" && !isDigestPinned(String(props["name"])))
      report(`pulled image ${String(props["name"])} is not digest-pinned`);
    if (type === "docker-build:index:Image") {
      const labels = (props["labels"] as Record<string, string> | undefined) ?? {};
      if (labels["ai.gonka.require-pinned-bases"] !== "true") return;
      for (const [arg, value] of Object.entries((props["buildArgs"] as Record<string, string>) ?? {}))
        if (arg.endsWith("_BASE") && !isDigestPinned(value))
          report(`build arg ${arg}=${value} is not digest-pinned`);
    }
  },
);

export const secretsOnlyViaSecrets = policy(
  "secrets-only-via-secrets",
  "Secret-looking env vars come from Kubernetes Secrets; ConfigMaps carry no secret-looking keys.",
  (type, props, report) => {
    for (const t of podTemplates(type, props))
      for (const c of containersOf(t))
        for (const e of c.env ?? [])
          if (SECRET_ENV.test(e.name) && e.value !== undefined)
            report(`container ${c.name} sets ${e.name} as a literal; use valueFrom.secretKeyRef`);
    if (type === "kubernetes:core/v1:ConfigMap")
      for (const key of Object.keys((props["data"] as Props) ?? {}))
        if (SECRET_ENV.test(key)) report(`ConfigMap key ${key} looks like a secret`);
  },
);

export const GONKA_POLICIES: readonly ResourceValidationPolicy[] = [
  noPrivilegedContainers,
  gpuLimitsOnModelServers,
  resourceRequestsEverywhere,
  imagesPinned,
  secretsOnlyViaSecrets,
  ...SERVING_POLICIES,
  ...SCALE_POLICIES,
];

/** Rules that need the whole stack (e.g. two resources sharing a name). */
export const GONKA_STACK_POLICIES: readonly StackValidationPolicy[] = [
  ...SERVING_STACK_POLICIES,
  ...SCALE_STACK_POLICIES,
];

/** Runs every policy over plain resources (what the mocks captured); returns the violations. */
export function evaluatePolicies(
  resources: readonly { type: string; name: string; props: Props }[],
): { policy: string; message: string }[] {
  const violations: { policy: string; message: string }[] = [];
  for (const p of GONKA_POLICIES) {
    const validate = p.validateResource;
    if (!validate) continue;
    for (const r of resources) {
      const args = {
        type: r.type,
        name: r.name,
        props: r.props,
        urn: "",
        opts: {},
      } as unknown as ResourceValidationArgs;
      const fns = Array.isArray(validate) ? validate : [validate];
      for (const fn of fns) fn(args, (message: string) => violations.push({ policy: p.name, message }));
    }
  }
  for (const p of GONKA_STACK_POLICIES) {
    const args = {
      resources: resources.map((r) => ({
        ...r,
        urn: "",
        opts: {},
        dependencies: [],
        propertyDependencies: {},
      })),
    } as unknown as StackValidationArgs;
    p.validateStack(args, (message: string) => violations.push({ policy: p.name, message }));
  }
  return violations;
}
