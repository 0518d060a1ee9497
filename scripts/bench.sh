#!/usr/bin/env bash
# Benchmarks that print numbers (not part of the test suite).
#   scripts/bench.sh inject [ROUNDS] [all|resource-list|kustomize]
#   scripts/bench.sh modelbump [PEER-BINARY [ROUNDS]]
#   scripts/bench.sh gpufit
#   scripts/bench.sh emit
#   scripts/bench.sh cmp [ROUNDS] [all|big|seed]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --quiet --release --locked -p gpuops-inject-function -p kubectl-modelbump -p kubectl-gpufit -p argocd-gpuops-cmp -p gpuops-bench
case "${1:-inject}" in
    inject) ./target/release/bench-inject target/release/gpuops-inject "${2:-5}" "${3:-all}" ;;
    modelbump) ./target/release/bench-modelbump target/release/kubectl-modelbump ${2:+"$2"} ${3:+"$3"} ;;
    gpufit)
        # The peer, pinned, built once into a cache outside the repository.
        peer_version=3.1.0
        cache="${GPUOPS_BENCH_CACHE:-$HOME/.cache/gpuops-bench}/kubectl-view-allocations-$peer_version"
        if [[ ! -x "$cache/bin/kubectl-view-allocations" ]]; then
            cargo install --quiet --locked --root "$cache" kubectl-view-allocations --version "$peer_version"
        fi
        ./target/release/bench-gpufit target/release/kubectl-gpufit "$cache/bin/kubectl-view-allocations" ;;
    emit) ./target/release/bench-emit ;;
    cmp)
        # The binaries as they ship (the sidecar image, release archives):
        # static musl, the one build the images and archives share
        # (scripts/static-packages.sh).
        source scripts/static-packages.sh
        static_build
        ./target/release/bench-cmp "target/$static_target/release/argocd-gpuops-cmp" "target/$static_target/release/gpuops-inject" "${2:-7}" "${3:-all}" ;;
    *) echo "usage: scripts/bench.sh inject|modelbump|gpufit|emit|cmp" >&2; exit 2 ;;
esac
