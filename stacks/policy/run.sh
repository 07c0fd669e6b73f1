#!/bin/sh
# Starts this policy pack for a Pulumi CLI without the Node language host (`pulumi-language-nodejs`,
# which the engine check cannot build: stacks/README.md, "Engine check"):
#   pulumi preview --policy-pack stacks/policy/run.sh
# Given a file, the CLI executes it with the engine's address; this runs the same
# run-policy-pack the language host runs for `--policy-pack stacks/policy`, in this folder, with
# Node 24 (`GONKA_POLICY_NODE`, else `node` on PATH) so index.mjs can import the TypeScript pack.
cd "$(dirname "$0")" || exit 1
exec "${GONKA_POLICY_NODE:-node}" ../../node_modules/@pulumi/pulumi/cmd/run-policy-pack "$1" .
