import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** This folder: the Python launcher, logits processor, model builder and template live here. */
export const REFERENCE_ENGINE_DIR = fileURLToPath(new URL(".", import.meta.url));

/** The command that installs everything the reference engine needs; named in every "missing" error. */
export const INSTALL_COMMAND = "reference-engine/install.sh";

/** The vLLM release the catalog pins (`vllm/vllm-openai:v0.20.2`); the venv installs the same. */
export const VLLM_VERSION = "0.20.2";

export interface ReferencePaths {
  /** `$GONKA_VLLM_REF_HOME`, default `$HOME/.cache/gonka/vllm-ref`. */
  readonly home: string;
  readonly python: string;
  /** The tiny model, keyed by the builder's and template's content so an edit rebuilds it. */
  readonly modelDir: string;
}

function fileHash(...names: string[]): string {
  const h = createHash("sha256");
  for (const n of names) h.update(readFileSync(join(REFERENCE_ENGINE_DIR, n)));
  return h.digest("hex").slice(0, 12);
}

export function referencePaths(env: NodeJS.ProcessEnv = process.env): ReferencePaths {
  const home = env["GONKA_VLLM_REF_HOME"] ?? join(homedir(), ".cache", "gonka", "vllm-ref");
  return {
    home,
    python: join(home, "venv", "bin", "python"),
    modelDir: join(home, `model-${fileHash("build_model.py", "chat_template.jinja")}`),
  };
}

/** Throws an error that names the install command when the venv or the model is missing. */
export function assertInstalled(paths: ReferencePaths = referencePaths()): void {
  const missing: string[] = [];
  if (!existsSync(paths.python)) missing.push(`the vLLM ${VLLM_VERSION} virtualenv (${paths.python})`);
  if (!existsSync(join(paths.modelDir, "config.json"))) missing.push(`the tiny model (${paths.modelDir})`);
  if (missing.length > 0) {
    throw new Error(
      `The reference vLLM is not installed: missing ${missing.join(" and ")}. ` +
        `Run \`${INSTALL_COMMAND}\` (several GB, see reference-engine/README.md).`,
    );
  }
}
