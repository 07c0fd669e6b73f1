/**
 * The LiteLLM proxy (PyPI `litellm[proxy]`, pinned in litellm.requirements.txt) as a bench peer:
 * one worker (uvicorn, its default server), a config listing the simulators' models as
 * `openai/<model>` at their URLs. As configured: no master key (no auth), no database (no
 * keys, spend tracking or budgets), no rate limits, telemetry off, the model cost map read from
 * the installed package (no network); its uvicorn access log stays on, as ours does.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort } from "../../harness/redisServer.ts";
import { ensureLitellm } from "./install.ts";
import { launchPeer, type RunningPeer } from "./launch.ts";

export async function startLitellm(
  models: ReadonlyArray<{ model: string; upstream: string }>,
  log: (l: string) => void,
): Promise<RunningPeer> {
  const bin = await ensureLitellm(log);
  const dir = mkdtempSync(join(tmpdir(), "gonka-bench-litellm-"));
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    stringify({
      model_list: models.map((m) => ({
        model_name: m.model,
        litellm_params: { model: `openai/${m.model}`, api_base: `${m.upstream}/v1`, api_key: "unused" },
      })),
      litellm_settings: { telemetry: false },
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  log("litellm: starting (about 10 s)…");
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const peer = await launchPeer({
    name: "litellm",
    command: bin,
    args: ["--config", config, "--host", "127.0.0.1", "--port", String(port), "--num_workers", "1"],
    cwd: dir,
    env: { ...process.env, LITELLM_LOG: "ERROR", LITELLM_LOCAL_MODEL_COST_MAP: "True" },
    url,
    readyPath: "/health/liveliness",
    timeoutMs: 90_000,
  }).catch((err: unknown) => {
    removeDir();
    throw err;
  });
  // The config folder goes with the proxy (it was left in the temp dir, one per run).
  return {
    ...peer,
    stop: async () => {
      await peer.stop();
      removeDir();
    },
  };
}
