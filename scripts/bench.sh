#!/usr/bin/env bash
# Benchmarks that print numbers (not part of the test suite).
#   scripts/bench.sh inject [ROUNDS] [all|resource-list|kustomize]
#   scripts/bench.sh modelbump
#   scripts/bench.sh gpufit
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --quiet --release --locked -p gpuops-inject-function -p kubectl-modelbump -p kubectl-gpufit -p gpuops-bench
case "${1:-inject}" in
    inject) ./target/release/bench-inject target/release/gpuops-inject "${2:-5}" "${3:-all}" ;;
    modelbump) ./target/release/bench-modelbump target/release/kubectl-modelbump ;;
    gpufit) ./target/release/bench-gpufit target/release/kubectl-gpufit ;;
    *) echo "usage: scripts/bench.sh inject|modelbump|gpufit" >&2; exit 2 ;;
esac
