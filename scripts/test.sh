#!/usr/bin/env bash
# The whole test suite, on a fresh machine: set-up, the function's container
# image, then every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash krm-functions/gpuops-inject/build-image.sh
cargo test --workspace --locked
