#!/usr/bin/env bash
# The whole test suite, on a fresh machine: set-up, the function's container
# image, then every test of the workspace. Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash krm-functions/gpuops-inject/build-image.sh
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
# cargo prints one "test result" line per test binary (doc-tests last, often
# with 0 tests); sum them so the last line tells the whole story.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
