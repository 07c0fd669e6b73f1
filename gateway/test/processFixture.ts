import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminClient } from "../../harness/adminClient.ts";
import { type SpawnedGateway, spawnGateway } from "../../harness/spawnGateway.ts";
import { type SpawnedSimulator, spawnSimulator } from "../../sim/spawn.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import type { GatewayConfigInput } from "../config/schema.ts";

export const ADMIN_KEY = "test-admin-key-0123456789abcdef";

/** Simulators plus gateway *processes* sharing one data folder, as in a deployment. */
export interface ProcessFixture {
  dir: string;
  configPath: string;
  sims: SpawnedSimulator[];
  startGateway(env?: NodeJS.ProcessEnv): Promise<SpawnedGateway>;
  /** Issues a key through the gateway's admin API (on its operational listener). */
  createKey(gateway: SpawnedGateway, body: Record<string, unknown>): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export async function startProcessFixture(opts: {
  preset: string;
  simArgs?: string[];
  config?: (c: GatewayConfigInput) => GatewayConfigInput;
}): Promise<ProcessFixture> {
  const dir = mkdtempSync(join(tmpdir(), "gonka-gw-"));
  const sims = [
    await spawnSimulator({ model: opts.preset, ...(opts.simArgs ? { args: opts.simArgs } : {}) }),
  ];
  const base = buildGatewayConfig({ models: [{ preset: opts.preset, replicaUrls: sims.map((s) => s.url) }] });
  const configPath = join(dir, "gateway.json");
  writeFileSync(
    configPath,
    JSON.stringify({ logLevel: "warn", ...(opts.config ? opts.config(base) : base) }),
  );
  const gateways: SpawnedGateway[] = [];
  return {
    dir,
    configPath,
    sims,
    async startGateway(env = {}) {
      const gw = await spawnGateway({
        configPath,
        env: { GONKA_DATA_DIR: join(dir, "data"), GONKA_ADMIN_KEY: ADMIN_KEY, ...env },
      });
      gateways.push(gw);
      return gw;
    },
    async createKey(gateway, body) {
      const created = await adminClient(gateway.opsUrl, ADMIN_KEY)("POST", "/admin/keys", body);
      return { id: (created["key"] as { id: string }).id, secret: created["secret"] as string };
    },
    async close() {
      await Promise.all([...gateways.map((g) => g.stop()), ...sims.map((s) => s.stop())]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
