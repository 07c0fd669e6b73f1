import { type ModelPreset, PRESETS } from "./presets.ts";

export * from "./engineArgs.ts";
export * from "./kvCapacity.ts";
export * from "./offload.ts";
export * from "./presets.ts";

export function presetIds(): string[] {
  return PRESETS.map((p) => p.id);
}

/** Finds a preset by id or alias; throws listing the known ids so a typo in stack config is obvious. */
export function getPreset(idOrAlias: string): ModelPreset {
  const found = PRESETS.find((p) => p.id === idOrAlias || p.aliases.includes(idOrAlias));
  if (!found)
    throw new Error(`unknown model preset "${idOrAlias}"; known presets: ${presetIds().join(", ")}`);
  return found;
}

export function getLayout(preset: ModelPreset, layoutId?: string) {
  if (!layoutId) return preset.layouts[0]!;
  const layout = preset.layouts.find((l) => l.id === layoutId);
  if (!layout) {
    throw new Error(
      `model ${preset.id} has no layout "${layoutId}"; known layouts: ${preset.layouts.map((l) => l.id).join(", ")}`,
    );
  }
  return layout;
}
