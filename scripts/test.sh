#!/usr/bin/env bash
# The whole test suite, on a fresh machine: set-up, formatting and lints,
# the function's container image, then every test of the workspace.
# Snapshots (insta) are compared, never rewritten: review a mismatch with
# `cargo insta review` (or move the `.snap.new` over the `.snap`). Ends with
# one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The suite's release builds — the static binaries of the images and of the
# krew archives (scripts/static-packages.sh), built once — test packaging:
# static linking, image layout, archives, krew's install rules. None of it
# depends on how well the code is optimised, so here they skip LTO and build
# at opt-level 0: measured 2026-12-03 on this 2-core machine, the four static
# packages took 210 s of user CPU at opt-level 0 against 462 s at 1 (same
# sources, empty target directories). Benchmarks (scripts/bench.sh) and the
# release workflow build with the real [profile.release].
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
# Style first: a formatting or lint failure is reported before the long run.
cargo fmt --all --check
# Inside a library crate every arrow points down too: no two top-level
# modules use each other (CONTRIBUTING.md, "Layering").
bash scripts/check-module-cycles.sh --self-test
bash scripts/check-module-cycles.sh
cargo clippy --workspace --all-targets --locked -- -D warnings
# The API docs build without a rustdoc warning (broken or private intra-doc
# links, bad HTML, bare URLs): only here, so doc-tests keep their own flags.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
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
