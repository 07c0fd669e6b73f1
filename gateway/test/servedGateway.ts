/**
 * The in-process gateway with its real services (store, keys, sessions, jobs, webhooks…), as
 * `main.ts` wires it, listening on loopback: the common core of the feature test fixtures
 * (sessions, jobs, webhooks), which differ only in what they put around it.
 */
import { createGateway, type Gateway } from "../app.ts";
import type { GatewayConfig } from "../config/schema.ts";
import { createLogger } from "../logger.ts";
import { type ServiceEnv, type Services, startServices } from "../services.ts";

export interface ServedGateway {
  url: string;
  opsUrl: string;
  services: Services;
  gateway: Gateway;
  /** A new API key's secret on `tier` (default `standard`), named `name`. */
  newKey(tier?: string): Promise<{ id: string; secret: string }>;
  /** Stops the gateway, then the services (the store last, so in-flight writes land). */
  close(): Promise<void>;
}

export async function startServedGateway(
  config: GatewayConfig,
  env: ServiceEnv,
  opts: { keyName?: string; extras?: Parameters<typeof startServices>[3] } = {},
): Promise<ServedGateway> {
  const log = createLogger(process.env["GONKA_TEST_LOG"] ?? "silent");
  const services = await startServices(config, env, log, opts.extras);
  const gateway: Gateway = createGateway({
    config,
    log,
    probe: false,
    ...services.gatewayOptions(() => gateway.registry),
  });
  const url = await gateway.listen(0, "127.0.0.1");
  const opsUrl = await gateway.listenOps(0, "127.0.0.1");
  return {
    url,
    opsUrl,
    services,
    gateway,
    async newKey(tier = "standard") {
      const { key, secret } = await services.store.keys.create({ name: opts.keyName ?? "test", tier });
      return { id: key.id, secret };
    },
    async close() {
      await gateway.shutdown(1_000);
      await services.close();
    },
  };
}
