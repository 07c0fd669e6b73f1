import { buildVllmArgs, getLayout, getPreset } from "../catalog/index.ts";

/** The model the reference engine stands in for; its catalog arguments are the ones it runs with. */
export const REFERENCE_MODEL = "kimi-k2.5";

/** Loaded by vLLM by module name (serve.py puts this folder on PYTHONPATH). */
export const FORCING_PROCESSOR = "forcing_processor:ScriptedTokens";

/**
 * The catalog's own vLLM arguments for kimi-k2.5 (one source of truth), adapted to one CPU process:
 * - `--host 0.0.0.0` becomes `127.0.0.1`: test equipment listens on loopback only.
 * - `--tensor-parallel-size 8` becomes 1: a CPU process has no GPUs to shard across; vLLM's CPU
 *   backend would start 8 worker processes on a 2-core machine.
 * - `--decode-context-parallel-size 8` becomes 1: DCP splits the KV cache across the TP ranks,
 *   so it must divide the tensor-parallel size (vLLM refuses DCP 8 with TP 1).
 * Everything else (served name, context length, batching and compilation settings, parsers,
 * `--trust-remote-code`, `--mm-encoder-tp-mode`) is passed unchanged, and the forcing logits processor is appended.
 * `weightsDir` must hold the tiny model at the preset's repo path (`moonshotai/Kimi-K2.5`).
 */
export function referenceVllmArgs(weightsDir: string, port: number): string[] {
  const preset = getPreset(REFERENCE_MODEL);
  const args = buildVllmArgs(preset, getLayout(preset), { weightsDir, port });
  const replace = (flag: string, value: string) => {
    const at = args.indexOf(flag);
    if (at < 0) throw new Error(`catalog arguments for ${REFERENCE_MODEL} lack ${flag}`);
    args[at + 1] = value;
  };
  replace("--host", "127.0.0.1");
  replace("--tensor-parallel-size", "1");
  replace("--decode-context-parallel-size", "1");
  args.push("--logits-processors", FORCING_PROCESSOR);
  return args;
}
