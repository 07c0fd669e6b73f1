import { getPreset } from "../catalog/index.ts";

/**
 * `GONKA_SIM_SCRIPT`: a file (every vLLM chat model's simulators load it; the embedding and
 * llama.cpp backends do not, since a chat script means nothing to them), or per model
 * `model=file[,model=file…]` (any model, by catalog id or alias).
 */
export function parseSimScriptEnv(value: string | undefined): Record<string, string> {
  if (!value) return {};
  if (!value.includes("=")) return { "*": value };
  const out: Record<string, string> = {};
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const model = part.slice(0, eq).trim();
    const file = part.slice(eq + 1).trim();
    if (eq <= 0 || !file) throw new Error(`GONKA_SIM_SCRIPT: expected model=file, got "${part}"`);
    out[getPreset(model).id] = file;
  }
  return out;
}

export function scriptFor(model: string, scripts: Readonly<Record<string, string>>): string | undefined {
  const own = scripts[model];
  if (own) return own;
  const preset = getPreset(model);
  const chat = preset.engine === "vllm" && preset.capabilities.includes("chat");
  return chat ? scripts["*"] : undefined;
}
