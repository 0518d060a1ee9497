#!/usr/bin/env bash
# Release archives for what this machine can build: linux amd64, static.
#   bash scripts/dist.sh v0.1.0 [OUT_DIR]
#     -> OUT_DIR (default dist/): kubectl-{modelbump,gpufit}-v0.1.0-x86_64-unknown-linux-gnu.tar.gz,
#        krew/{modelbump,gpufit}.yaml (rendered and validated), checksums.txt
#   bash scripts/dist.sh --check-static FILE...
#     -> exit 1 unless every FILE is an ELF executable with no NEEDED entry
# The other platforms of the krew templates are built by CI on their own
# runners; a platform without its archive is left out of the rendered
# manifest (and named in the output). The build goes where cargo puts it
# (CARGO_TARGET_DIR or build.target-dir honoured, as `cargo metadata` says);
# GPUOPS_DIST names an already built gpuops-dist (the test suite's) instead
# of building it here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

# Static means the dynamic section (if any) asks the loader for no shared
# library: `readelf -d` lists no NEEDED entry. A static-pie has a dynamic
# section (relocations) but no NEEDED; a plain static binary has none at
# all. `ldd` cannot tell: glibc's ldd exits 0 on a static-pie.
check_static() {
    local f out
    for f in "$@"; do
        if [[ ! -f "$f" ]]; then
            echo "dist: $f: no such file" >&2
            exit 1
        fi
        if ! out="$(LC_ALL=C readelf -d "$f" 2>&1)"; then
            echo "dist: $f: not an ELF file" >&2
            exit 1
        fi
        if grep -q '(NEEDED)' <<<"$out"; then
            echo "dist: $f is dynamically linked (needs $(grep '(NEEDED)' <<<"$out" | sed 's/.*\[\(.*\)\]/\1/' | paste -sd, -))" >&2
            exit 1
        fi
    done
}

if [[ "${1:-}" == "--check-static" ]]; then
    shift
    [[ $# -gt 0 ]] || { echo "usage: scripts/dist.sh --check-static FILE..." >&2; exit 2; }
    check_static "$@"
    exit 0
fi

tag="${1:?usage: scripts/dist.sh vX.Y.Z [OUT_DIR]}"
out="${2:-$root/dist}"
cd "$root"
target="$(rustc -vV | sed -n 's/^host: //p')"
target_dir="$(cargo metadata --format-version 1 --no-deps --locked | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)"
# The same packages, flags and --target as scripts/image-lib.sh: after the
# suite's image builds, this finds both plugins already built.
source "$root/scripts/static-packages.sh"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked \
    "${static_cargo_args[@]}" --target "$target"
bin_dir="$target_dir/$target/release"
check_static "$bin_dir/kubectl-modelbump" "$bin_dir/kubectl-gpufit"
echo "dist: static binaries in $bin_dir"
dist="${GPUOPS_DIST:-}"
if [[ -z "$dist" ]]; then
    cargo build --quiet --release --locked -p gpuops-dist
    dist="$target_dir/release/gpuops-dist"
fi
# Only ever a directory this script made (or an empty one): OUT_DIR is
# replaced, so refuse one holding anything but a previous dist's files.
if [[ -d "$out" ]] && find "$out" -mindepth 1 -maxdepth 1 ! -name 'kubectl-*' ! -name krew ! -name checksums.txt ! -name '.krew-check-*' | grep -q .; then
    echo "dist: $out holds files dist.sh did not make; refusing to replace it" >&2
    exit 1
fi
rm -rf "$out"
"$dist" "$tag" "$target" "$bin_dir" "$out"
