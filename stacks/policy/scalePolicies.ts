/**
 * Issue 11: a production API survives a node loss and a rolling update only with two gateway
 * replicas or more, and the database URL carries a password, so it travels only in a Secret.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { containersOf, DOCKER_CONTAINER, type Props, podTemplates, policy } from "./resources.ts";

/** A Postgres URL with a password in it: `postgres://user:pw@host…`. */
const POSTGRES_URL_WITH_PASSWORD = /postgres(?:ql)?:\/\/[^/\s:@]+:[^@\s]+@/i;
const DATABASE_URL_ENV = /DATABASE_URL$/i;

import { ENVIRONMENT_LABEL, GATEWAY_NAME } from "../specs/gatewayWorkload.ts";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";

export const databaseUrlFromSecret = policy(
  "database-url-from-secret",
  "A database URL reaches a container only through a Secret: no env literal, no ConfigMap value.",
  (type, props, report) => {
    for (const t of podTemplates(type, props))
      for (const c of containersOf(t))
        for (const e of c.env ?? [])
          if (
            e.value !== undefined &&
            (DATABASE_URL_ENV.test(e.name) || POSTGRES_URL_WITH_PASSWORD.test(e.value))
          )
            report(`container ${c.name} sets ${e.name} as a literal; use valueFrom.secretKeyRef`);
    if (type === "kubernetes:core/v1:ConfigMap")
      for (const [key, value] of Object.entries((props["data"] as Record<string, string>) ?? {}))
        if (POSTGRES_URL_WITH_PASSWORD.test(String(value)))
          report(`ConfigMap key ${key} holds a database URL with its password`);
  },
);

interface Gateway {
  readonly name: string;
  readonly environment?: string;
  /** Replicas it never goes below: the HPA's minReplicas, else the Deployment's, else containers. */
  readonly floor: number;
}

function gateways(resources: readonly { type: string; name: string; props: Props }[]): Gateway[] {
  const found: Gateway[] = [];
  const hpaFloor = new Map<string, number>();
  for (const r of resources)
    if (r.type === HPA) {
      const spec = r.props["spec"] as
        | { scaleTargetRef?: { name?: string }; minReplicas?: number }
        | undefined;
      if (spec?.scaleTargetRef?.name) hpaFloor.set(spec.scaleTargetRef.name, spec.minReplicas ?? 1);
    }
  for (const r of resources) {
    if (r.type === DEPLOYMENT) {
      const meta =
        (r.props["metadata"] as { name?: string; labels?: Record<string, string> } | undefined) ?? {};
      if (meta.name !== GATEWAY_NAME) continue;
      const replicas = (r.props["spec"] as { replicas?: number } | undefined)?.replicas;
      found.push({
        name: r.name,
        ...(meta.labels?.[ENVIRONMENT_LABEL] ? { environment: meta.labels[ENVIRONMENT_LABEL] } : {}),
        // Kubernetes defaults an unset `replicas` to 1 when no HPA owns it.
        floor: hpaFloor.get(GATEWAY_NAME) ?? replicas ?? 1,
      });
    }
    if (r.type === DOCKER_CONTAINER && r.props["name"] === GATEWAY_NAME) {
      const labels = (r.props["labels"] as { label: string; value: string }[] | undefined) ?? [];
      const environment = labels.find((l) => l.label === ENVIRONMENT_LABEL)?.value;
      found.push({ name: r.name, ...(environment ? { environment } : {}), floor: 1 });
    }
  }
  return found;
}

export const prodGatewayReplicas: StackValidationPolicy = {
  name: "prod-gateway-replicas",
  description: "prod runs at least two gateway replicas (node loss, rolling updates).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const g of gateways(args.resources))
      if (g.environment === "prod" && g.floor < 2)
        reportViolation(
          `${g.name}: prod runs ${g.floor} gateway replica(s); it needs at least 2 ` +
            "(gonka:gateway.replicas on the kubernetes target, with a Postgres database)",
        );
  },
};

export const SCALE_POLICIES = [databaseUrlFromSecret];
export const SCALE_STACK_POLICIES = [prodGatewayReplicas];
