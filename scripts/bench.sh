#!/usr/bin/env bash
# Benchmarks that print numbers (not part of the test suite).
#   scripts/bench.sh [ROUNDS] [all|resource-list|kustomize]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --locked -p gpuops-inject -p gpuops-e2e
./target/release/bench-inject target/release/gpuops-inject "${1:-5}" "${2:-all}"
