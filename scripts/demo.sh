#!/usr/bin/env bash
# Build gpuops-inject, install it as a kustomize plugin in a throw-away
# plugin home, and render the seed-001 production overlay: the
# InferenceService comes out with 2 H100s, tolerations, /dev/shm, Recreate,
# --tensor-parallel-size=2 and its pinned model tag. No cluster needed.
set -euo pipefail
cd "$(dirname "$0")/.."
overlay="${1:-examples/llmops-overlays/overlays/production}"
cargo build --quiet --release --locked -p gpuops-inject-function
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
./target/release/gpuops-inject install-plugin --dir "$home/kustomize/plugin" >/dev/null
XDG_CONFIG_HOME="$home" kubectl kustomize --enable-alpha-plugins "$overlay"
