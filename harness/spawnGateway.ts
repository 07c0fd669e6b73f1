import { fileURLToPath } from "node:url";
import { type ManagedChild, parseLogLine, spawnNode } from "./childProcess.ts";

export const GATEWAY_MAIN = fileURLToPath(new URL("../gateway/main.ts", import.meta.url));

export interface SpawnedGateway extends ManagedChild {
  /** The API listener's origin (`/v1/*`). */
  readonly url: string;
  /** The operational listener's origin (`/metrics`, `/health/models`, `/gonka/info`, `/admin/*`). */
  readonly opsUrl: string;
}

/**
 * Starts the gateway exactly as the image and the local stack do
 * (`node gateway/main.ts --config <file>`), on free ports unless GONKA_PORT / GONKA_OPS_PORT are set.
 */
export async function spawnGateway(opts: {
  configPath: string;
  env?: NodeJS.ProcessEnv;
  nodeArgs?: readonly string[];
  onLogLine?: (line: string) => void;
}): Promise<SpawnedGateway> {
  const child = await spawnNode({
    name: "gateway",
    script: GATEWAY_MAIN,
    args: ["--config", opts.configPath],
    env: { ...process.env, GONKA_PORT: "0", GONKA_OPS_PORT: "0", ...opts.env },
    ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
    ...(opts.onLogLine ? { onLine: opts.onLogLine } : {}),
    ready: (line) => {
      const log = parseLogLine(line);
      return log?.["msg"] === "listening" && typeof log["url"] === "string"
        ? { url: log["url"] as string, opsUrl: log["opsUrl"] as string }
        : undefined;
    },
  });
  return { ...child, ...child.readyValue };
}
