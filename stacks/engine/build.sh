#!/usr/bin/env bash
# Builds the real Pulumi engine for `npm run check:engine` from the Go module proxy, once:
# the Pulumi CLI and the Kubernetes resource provider, cached under
# $HOME/.cache/gonka/pulumi-<version>/bin. Cold: several minutes of downloads and compiling
# (about 20 minutes on 2 shared cores); cached: instant. Prints the bin folder on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# Pinned versions. The CLI matches @pulumi/pulumi in package.json. The provider module has no
# tagged versions on the proxy: its newest pseudo-version is used, and it reports itself as the
# version @pulumi/kubernetes asks for (see stacks/README.md, "Engine check").
PULUMI_VERSION=3.276.0
K8S_PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_PROVIDER_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199
K8S_PLUGIN_VERSION=4.34.2

cache="${GONKA_ENGINE_CACHE:-$HOME/.cache/gonka/pulumi-$PULUMI_VERSION}"
bin="$cache/bin"
stamp="$bin/.built-$PULUMI_VERSION-k8s-$K8S_PLUGIN_VERSION-${K8S_PROVIDER_PSEUDO##*-}"
if [ -f "$stamp" ] && [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-resource-kubernetes" ]; then
  echo "engine: cached in $bin" >&2
  echo "$bin"
  exit 0
fi

# Go's own installer puts it in /usr/local/go without touching PATH.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; fi
if ! command -v go >/dev/null 2>&1; then
  echo "engine: the Go toolchain is missing (no \`go\` on PATH). Install Go >= 1.26.6 (e.g. apt-get install golang-go, or /usr/local/go/bin on PATH); the engine is built from the Go module proxy." >&2
  exit 3
fi
echo "engine: building into $cache with $(go version)" >&2
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$(dirname "$cache")"
if ! timeout 120 go list -m "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" >/dev/null 2>"$cache.proxy.err"; then
  echo "engine: the Go module proxy ($(go env GOPROXY)) did not serve github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION:" >&2
  cat "$cache.proxy.err" >&2
  exit 4
fi
rm -f "$cache.proxy.err"
mkdir -p "$bin" "$cache/src"

# Progress while Go is silent for minutes: one line every 30 s.
started=$(date +%s)
progress() {
  while sleep 30; do echo "engine: ... $1 ($(( $(date +%s) - started ))s)" >&2; done
}
phase() {
  local what="$1"
  shift
  echo "engine: $what" >&2
  progress "$what" &
  local ticker=$!
  local status=0
  "$@" || status=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    echo "engine: $what failed (exit $status)" >&2
    exit "$status"
  fi
  echo "engine: $what done ($(( $(date +%s) - started ))s)" >&2
}

# The CLI's module has `replace` directives, which `go install module@version` refuses: the
# wrapper module in cli/ requires it (go.mod/go.sum committed) and builds its cmd/pulumi.
build_cli() {
  (cd "$here/cli" && go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

# The provider module replaces its SDK with ../sdk (not in the module zip) and embeds
# schema-embed.json, which its own generate.go derives from schema.json: copy the module, drop
# the replace, generate, build.
build_provider() {
  local src
  src=$(go mod download -json "$K8S_PROVIDER_MODULE@$K8S_PROVIDER_PSEUDO" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$cache/src/provider"
  cp -r "$src" "$cache/src/provider"
  chmod -R u+w "$cache/src/provider"
  cd "$cache/src/provider"
  go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4
  (cd cmd/pulumi-resource-kubernetes && VERSION="$K8S_PLUGIN_VERSION" go run generate.go)
  go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PLUGIN_VERSION" \
    -o "$bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
}

[ -x "$bin/pulumi" ] && "$bin/pulumi" version 2>/dev/null | grep -qx "v$PULUMI_VERSION" ||
  phase "Pulumi CLI v$PULUMI_VERSION (github.com/pulumi/pulumi/pkg/v3, via stacks/engine/cli)" build_cli
[ -x "$bin/pulumi-resource-kubernetes" ] ||
  phase "Kubernetes provider $K8S_PLUGIN_VERSION ($K8S_PROVIDER_MODULE@$K8S_PROVIDER_PSEUDO)" build_provider
touch "$stamp"
echo "engine: ready in $(( $(date +%s) - started ))s" >&2
echo "$bin"
