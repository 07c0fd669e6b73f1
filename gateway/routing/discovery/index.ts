import type { Logger } from "pino";
import type { ModelRegistry } from "../modelRegistry.ts";
import { replicasFromSlices } from "./endpointSlices.ts";
import type { KubeApi } from "./kubeApi.ts";
import { EndpointSliceWatcher } from "./sliceWatcher.ts";

export type { KubeApi } from "./kubeApi.ts";
export { KubeApiConfigError, kubeApiFromEnv } from "./kubeApi.ts";

export interface Discovery {
  stop(): Promise<void>;
}

/**
 * Watches the EndpointSlices of every model that discovers its replicas and applies each
 * change to the model's pool, without a restart. Status (synced, last error) lands on the
 * pool, where `/health/models`, `/readyz` and the 503 of a model not yet discovered read it.
 */
export function startDiscovery(
  registry: ModelRegistry,
  api: KubeApi,
  log: Logger,
  timing: { backoffMs?: number; maxBackoffMs?: number; watchTimeoutSeconds?: number } = {},
): Discovery {
  const watchers: EndpointSliceWatcher[] = [];
  for (const pool of registry.pools) {
    const config = pool.model.discovery;
    const status = pool.discovery;
    if (!config || !status) continue;
    const watcher = new EndpointSliceWatcher({
      ...timing,
      api,
      namespace: config.namespace,
      service: config.service,
      onSlices(slices) {
        const replicas = replicasFromSlices(slices, { portName: config.portName });
        const { added, removed } = pool.update(replicas);
        if (!status.synced || added.length || removed.length) {
          log.info(
            { model: pool.model.id, source: status.source, added, removed, replicas: pool.replicas.length },
            "engine pods discovered",
          );
        }
        status.synced = true;
        status.lastError = null;
      },
      onWatching() {
        status.lastError = null;
      },
      onError(message) {
        if (status.lastError !== message) {
          log.warn(
            { model: pool.model.id, source: status.source, reason: message },
            "engine pod discovery failing",
          );
        }
        status.lastError = message;
      },
    });
    watcher.start();
    watchers.push(watcher);
  }
  return {
    async stop() {
      await Promise.all(watchers.map((w) => w.stop()));
    },
  };
}
