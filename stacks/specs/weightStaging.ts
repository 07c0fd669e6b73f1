/**
 * The one-shot weight download: `hf download` into the shared weights folder,
 * then a check that every file the checkpoint index (or GGUF shard count) names is
 * there, then a marker so re-runs are no-ops. The HF token comes from the
 * environment (a Secret or stdin), never from the command line.
 */
import type { ModelPreset } from "../../catalog/index.ts";

export const STAGED_MARKER = ".gonka-staged";

/** POSIX shell script; `weightsDir` is the folder that holds `<org>/<repo>`. */
export function stagingScript(preset: ModelPreset, weightsDir: string): string {
  const dir = `${weightsDir.replace(/\/+$/, "")}/${preset.weights.repo}`;
  const include = preset.weights.include ? ` --include '${preset.weights.include}'` : "";
  const verify = preset.weights.entry ? verifyGgufShards(dir, preset.weights.entry) : verifySafetensors(dir);
  return [
    "set -eu",
    `DIR='${dir}'`,
    `if [ -f "$DIR/${STAGED_MARKER}" ]; then echo "${preset.id}: weights already staged"; exit 0; fi`,
    `mkdir -p "$DIR"`,
    // Staging is the one place allowed to reach the Hub; engines run with HF_HUB_OFFLINE=1.
    "unset HF_HUB_OFFLINE",
    `hf download '${preset.weights.repo}'${include} --local-dir "$DIR"`,
    verify,
    `du -sk "$DIR" | awk '{ if ($1 < ${Math.floor(preset.weights.sizeGiB * 0.9 * 1024 * 1024)}) { print "weights smaller than expected: " $1 " KiB"; exit 1 } }'`,
    `date -u +%FT%TZ > "$DIR/${STAGED_MARKER}"`,
    `echo "${preset.id}: weights staged in $DIR"`,
  ].join("\n");
}

/** Every shard named by model.safetensors.index.json (or the single file) must exist and be non-empty. */
function verifySafetensors(dir: string): string {
  return [
    `python3 - "${dir}" <<'PY'`,
    "import json, os, sys",
    "d = sys.argv[1]",
    "idx = os.path.join(d, 'model.safetensors.index.json')",
    "files = set(json.load(open(idx))['weight_map'].values()) if os.path.exists(idx) else {'model.safetensors'}",
    "missing = [f for f in sorted(files) if not os.path.exists(os.path.join(d, f)) or os.path.getsize(os.path.join(d, f)) == 0]",
    "if missing: sys.exit('missing or empty shards: ' + ', '.join(missing))",
    "print(f'verified {len(files)} safetensors shard(s)')",
    "PY",
  ].join("\n");
}

/** GGUF shards are named `...-0000k-of-0000n.gguf`; all n must be present. */
function verifyGgufShards(dir: string, entry: string): string {
  const m = /-(\d{5})-of-(\d{5})\.gguf$/.exec(entry);
  if (!m) return `test -s "${dir}/${entry}"`;
  const total = Number(m[2]);
  const prefix = entry.slice(0, m.index);
  return [
    `for i in $(seq -f '%05g' 1 ${total}); do`,
    `  test -s "${dir}/${prefix}-$i-of-${m[2]}.gguf" || { echo "missing GGUF shard $i of ${total}"; exit 1; }`,
    "done",
  ].join("\n");
}
