#!/usr/bin/env bash
# Release archives for what this machine can build: linux amd64, static.
#   bash scripts/dist.sh v0.1.0    -> dist/kubectl-{modelbump,gpufit}-v0.1.0-x86_64-unknown-linux-gnu.tar.gz,
#                                     dist/krew/{modelbump,gpufit}.yaml (validated), dist/checksums.txt
# The other platforms of the krew templates are built by CI on their own
# runners; a platform without its archive is left out of the rendered
# manifest (and named in the output).
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:?usage: scripts/dist.sh vX.Y.Z}"
target="$(rustc -vV | sed -n 's/^host: //p')"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked \
    -p kubectl-modelbump -p kubectl-gpufit --target "$target"
for bin in kubectl-modelbump kubectl-gpufit; do
    if ldd "target/$target/release/$bin" >/dev/null 2>&1; then
        echo "dist: target/$target/release/$bin is not static" >&2
        exit 1
    fi
done
rm -rf dist
cargo run --quiet --release --locked -p gpuops-release --bin gpuops-dist -- \
    "$tag" "$target" "target/$target/release" dist
