/**
 * Portkey's OSS gateway (`@portkey-ai/gateway`, pinned in portkey.package.json) as a bench peer.
 * As installed: no auth, no rate limits, no cache, no logging to a store (the OSS build has
 * none configured), retries off. Each request names the upstream in headers (the `openai`
 * provider with a custom host), which is how Portkey proxies to a self-hosted OpenAI API.
 */
import { dirname, join } from "node:path";
import { freePort } from "../../harness/redisServer.ts";
import { ensurePortkey } from "./install.ts";
import { launchPeer, type RunningPeer } from "./launch.ts";

export interface PortkeyPeer extends RunningPeer {
  /** Headers that send a request through Portkey to the OpenAI-compatible server at `upstream`. */
  headersFor(upstream: string): Record<string, string>;
}

export async function startPortkey(log: (l: string) => void): Promise<PortkeyPeer> {
  const main = await ensurePortkey(log);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const peer = await launchPeer({
    name: "portkey",
    command: process.execPath,
    args: [main, `--port=${port}`, "--headless"],
    cwd: join(dirname(main), "..", "..", "..", ".."),
    // NODE_ENV=production: no log console route, as Portkey is deployed.
    env: { ...process.env, NODE_ENV: "production" },
    url,
    readyPath: "/",
    timeoutMs: 30_000,
  });
  return {
    ...peer,
    headersFor: (upstream) => ({
      authorization: "Bearer unused",
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": `${upstream}/v1`,
    }),
  };
}
