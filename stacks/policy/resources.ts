/** What the policies read from resources: pod templates of every workload kind, containers, labels. */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

export type Props = Record<string, unknown>;
export interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { privileged?: boolean; allowPrivilegeEscalation?: boolean };
}
interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
}
export interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec?: PodSpec;
}

export const WORKLOADS = new Set([
  "kubernetes:apps/v1:Deployment",
  "kubernetes:apps/v1:StatefulSet",
  "kubernetes:apps/v1:DaemonSet",
  "kubernetes:batch/v1:Job",
]);
export const LWS = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet";
export const DOCKER_CONTAINER = "docker:index/container:Container";
export const SECRET_ENV = /(KEY|TOKEN|SECRET|PASSWORD)$/i;

/** Pod templates of any workload kind we create (LWS has two). */
export function podTemplates(type: string, props: Props): PodTemplate[] {
  const spec = props["spec"] as
    | {
        template?: PodTemplate;
        leaderWorkerTemplate?: { leaderTemplate?: PodTemplate; workerTemplate?: PodTemplate };
      }
    | undefined;
  if (WORKLOADS.has(type)) return spec?.template ? [spec.template] : [];
  if (type === LWS) {
    const t = spec?.leaderWorkerTemplate;
    return [t?.leaderTemplate, t?.workerTemplate].filter((x): x is PodTemplate => Boolean(x));
  }
  return [];
}

export function containersOf(t: PodTemplate): Container[] {
  return [...(t.spec?.containers ?? []), ...(t.spec?.initContainers ?? [])];
}

export function isModelServer(t: PodTemplate): boolean {
  return Boolean(t.metadata?.labels?.["gonka.ai/model"]);
}

export function policy(
  name: string,
  description: string,
  check: (type: string, props: Props, report: (msg: string) => void) => void,
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) =>
      check(args.type, args.props as Props, (msg) => reportViolation(`${args.name}: ${msg}`)),
  };
}
