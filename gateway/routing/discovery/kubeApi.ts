import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, type Dispatcher } from "undici";

/** Where the in-cluster credentials of a pod's service account are mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** How the gateway reaches the Kubernetes API: a base URL, a TLS setup and credentials. */
export interface KubeApi {
  /** `https://<KUBERNETES_SERVICE_HOST>:<port>` in a pod; GONKA_KUBE_API_URL otherwise. */
  readonly baseUrl: string;
  readonly dispatcher: Dispatcher;
  /**
   * Headers for the next request. The service-account token is read again each time: the
   * kubelet rotates projected tokens (hourly), and a cached one would expire under a
   * long-running gateway.
   */
  headers(): Record<string, string>;
  close(): Promise<void>;
}

export class KubeApiConfigError extends Error {
  override name = "KubeApiConfigError";
}

/**
 * The Kubernetes API the environment points at:
 * - `GONKA_KUBE_API_URL` (e.g. `http://127.0.0.1:8001` from `kubectl proxy`, which applies
 *   any kubeconfig's credentials; or a test server): used as is, without credentials;
 * - else in a pod, the standard in-cluster way: `KUBERNETES_SERVICE_HOST`/`_PORT`, the
 *   service account's token and the cluster CA from `serviceAccountDir`.
 * Throws when neither is there: a model that discovers its pods cannot work without it.
 */
export function kubeApiFromEnv(env: NodeJS.ProcessEnv, serviceAccountDir = SERVICE_ACCOUNT_DIR): KubeApi {
  const explicit = env["GONKA_KUBE_API_URL"];
  if (explicit) {
    const agent = new Agent();
    return {
      baseUrl: explicit.replace(/\/+$/, ""),
      dispatcher: agent,
      headers: () => ({}),
      close: () => agent.close(),
    };
  }
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"];
  if (!host || !port) {
    throw new KubeApiConfigError(
      "a model discovers its replicas from Kubernetes, but the gateway is not in a pod (no KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT) and GONKA_KUBE_API_URL is not set",
    );
  }
  const tokenFile = join(serviceAccountDir, "token");
  let ca: string;
  try {
    ca = readFileSync(join(serviceAccountDir, "ca.crt"), "utf8");
    readFileSync(tokenFile, "utf8");
  } catch (err) {
    throw new KubeApiConfigError(
      `cannot read the pod's service-account credentials in ${serviceAccountDir} (is automountServiceAccountToken off?): ${(err as Error).message}`,
    );
  }
  const agent = new Agent({ connect: { ca } });
  return {
    baseUrl: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    dispatcher: agent,
    headers: () => ({ authorization: `Bearer ${readFileSync(tokenFile, "utf8").trim()}` }),
    close: () => agent.close(),
  };
}
