/**
 * Redis for the gateway's shared rate-limit counters: password-protected, bounded memory,
 * no persistence. Kubernetes Deployment + Service specs, and the args both targets run.
 */
import { REDIS_IMAGE } from "./images.ts";

export const REDIS_PORT = 6379;
const redisLabels = { "app.kubernetes.io/name": "gonka-redis" };

/** In-cluster Redis URL with its password (goes into a Secret, never a ConfigMap or env literal). */
export function redisUrl(password: string, host: string, port = REDIS_PORT): string {
  return `redis://:${encodeURIComponent(password)}@${host}:${port}`;
}

/**
 * Redis holds only shared rate-limit counters: no persistence, bounded memory, and
 * `noeviction` (an evicted counter is a lifted limit: better a write error than a free pass).
 * `password` is a Kubernetes `$(REDIS_PASSWORD)` reference or, on Docker, inside a secret.
 */
export function redisArgs(password: string): string[] {
  return [
    "--save",
    "",
    "--appendonly",
    "no",
    "--maxmemory",
    "256mb",
    "--maxmemory-policy",
    "noeviction",
    "--requirepass",
    password,
  ];
}

export function redisDeploymentSpec(namespace: string, passwordSecret: string) {
  return {
    metadata: { name: "gonka-redis", namespace, labels: redisLabels },
    spec: {
      replicas: 1,
      selector: { matchLabels: redisLabels },
      template: {
        metadata: { labels: redisLabels },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999 },
          containers: [
            {
              name: "redis",
              image: REDIS_IMAGE,
              // Kubernetes expands $(REDIS_PASSWORD) from the Secret-backed env; the spec holds no password.
              args: redisArgs("$(REDIS_PASSWORD)"),
              env: [
                {
                  name: "REDIS_PASSWORD",
                  valueFrom: { secretKeyRef: { name: passwordSecret, key: "redisPassword" } },
                },
              ],
              ports: [{ name: "redis", containerPort: REDIS_PORT }],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "384Mi" } },
              readinessProbe: { tcpSocket: { port: REDIS_PORT }, periodSeconds: 5 },
              livenessProbe: { tcpSocket: { port: REDIS_PORT }, periodSeconds: 15 },
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
              },
            },
          ],
        },
      },
    },
  };
}

export function redisServiceSpec(namespace: string) {
  return {
    metadata: { name: "gonka-redis", namespace, labels: redisLabels },
    spec: { selector: redisLabels, ports: [{ name: "redis", port: REDIS_PORT, targetPort: REDIS_PORT }] },
  };
}
