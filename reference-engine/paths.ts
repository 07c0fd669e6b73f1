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
  /** The tool chat templates from vLLM's sdist (install.sh), named as in the images' template dir. */
  readonly chatTemplateDir: string;
}

/** sha256 of vLLM's sdist, pinned in install.sh; the template folder is named for it. */
function sdistSha256(): string {
  const m = /^VLLM_SDIST_SHA256=([0-9a-f]{64})$/m.exec(
    readFileSync(join(REFERENCE_ENGINE_DIR, "install.sh"), "utf8"),
  );
  if (!m) throw new Error("reference-engine/install.sh does not pin VLLM_SDIST_SHA256");
  return m[1]!;
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
    chatTemplateDir: join(home, `chat-templates-${sdistSha256()}`),
  };
}

/** Throws an error that names the install command when the venv or the model is missing. */
export function assertInstalled(paths: ReferencePaths = referencePaths()): void {
  const missing: string[] = [];
  // install.sh writes the requirements' hash into the venv last: a venv without it (an
  // interrupted install) or with an older hash (requirements.txt changed) is not installed.
  const marker = join(paths.home, "venv", ".gonka-requirements");
  const wanted = createHash("sha256").update(readFileSync(join(REFERENCE_ENGINE_DIR, "requirements.txt")));
  if (!existsSync(marker) || readFileSync(marker, "utf8").trim() !== wanted.digest("hex").slice(0, 12)) {
    missing.push(`the vLLM ${VLLM_VERSION} virtualenv (${paths.python})`);
  }
  if (!existsSync(join(paths.modelDir, "config.json"))) missing.push(`the tiny model (${paths.modelDir})`);
  if (!existsSync(join(paths.chatTemplateDir, ".complete"))) {
    missing.push(`vLLM's tool chat templates (${paths.chatTemplateDir})`);
  }
  if (missing.length > 0) {
    throw new Error(
      `The reference vLLM is not installed: missing ${missing.join(" and ")}. ` +
        `Run \`${INSTALL_COMMAND}\` (several GB, see reference-engine/README.md).`,
    );
  }
}
