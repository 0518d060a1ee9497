#!/usr/bin/env bash
# Release archives for what this machine can build: linux amd64, static
# (musl: x86_64-unknown-linux-musl, as scripts/static-packages.sh builds).
#   bash scripts/dist.sh v0.1.0 [OUT_DIR]
#     -> OUT_DIR (default dist/): kubectl-{modelbump,gpufit}-v0.1.0-x86_64-unknown-linux-musl.tar.gz,
#        krew/{modelbump,gpufit}.yaml (rendered and validated), checksums.txt
#   bash scripts/dist.sh --pack|--smoke|--manifests ...: the release
#     workflow's steps (below)
#   bash scripts/dist.sh --sbom PACKAGE OUT_FILE: an image's SPDX document
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

cd "$root"
# Where cargo builds (CARGO_TARGET_DIR, build.target-dir), from cargo
# metadata; a Windows path comes JSON-escaped (D:\\a\\...).
target_dir="$(cargo metadata --format-version 1 --no-deps --locked | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4 | sed 's/\\\\/\\/g')"

# Git Bash on the Windows runner: a POSIX path for bash.
if command -v cygpath >/dev/null; then target_dir="$(cygpath -u "$target_dir")"; fi

# gpuops_dist: the gpuops-dist binary (GPUOPS_DIST, or built here for the host).
gpuops_dist() {
    if [[ -z "${GPUOPS_DIST:-}" ]]; then
        cargo build --quiet --release --locked -p gpuops-dist
        GPUOPS_DIST="$target_dir/release/gpuops-dist"
    fi
}

# The release workflow's steps (.github/workflows/release.yml), one runner
# per target:
#   --pack TAG TARGET OUT_DIR: release-build both plugins for TARGET
#     (static on linux: the musl targets, static by default; windows-msvc:
#     crt-static; darwin links only the system's libSystem), check linux
#     binaries are static, pack the archives into OUT_DIR;
#   --smoke TARGET: the built plugins answer --help as `kubectl NAME`;
#   --manifests TAG OUT_DIR: render, validate and install-check both krew
#     manifests against every archive in OUT_DIR (all must be there), and
#     write checksums.txt.
if [[ "${1:-}" == "--pack" ]]; then
    [[ $# -eq 4 ]] || { echo "usage: scripts/dist.sh --pack TAG TARGET OUT_DIR" >&2; exit 2; }
    tag="$2" target="$3" out="$4"
    source "$root/scripts/static-packages.sh"
    if [[ "$target" == "$static_target" ]]; then
        # Linux on its own machine (the suite's case too): all static
        # packages in one build, as scripts/static-packages.sh explains, so
        # the images' binaries and these are one build.
        static_build
    elif [[ "$target" == *-linux-* ]]; then
        echo "dist: $target: linux archives are built on their own architecture for $static_target" >&2
        exit 2
    else
        flags=""
        [[ "$target" == *-windows-msvc ]] && flags="-C target-feature=+crt-static"
        RUSTFLAGS="$flags" cargo build --quiet --release --locked -p kubectl-modelbump -p kubectl-gpufit --target "$target"
    fi
    bin_dir="$target_dir/$target/release"
    case "$target" in
        *-linux-*) check_static "$bin_dir/kubectl-modelbump" "$bin_dir/kubectl-gpufit" ;;
    esac
    gpuops_dist
    "$GPUOPS_DIST" pack "$tag" "$target" "$bin_dir" "$out"
    exit 0
fi
if [[ "${1:-}" == "--smoke" ]]; then
    [[ $# -eq 2 ]] || { echo "usage: scripts/dist.sh --smoke TARGET" >&2; exit 2; }
    exe=""
    [[ "$2" == *-windows-* ]] && exe=".exe"
    for name in modelbump gpufit; do
        help="$("$target_dir/$2/release/kubectl-$name$exe" --help)"
        grep -q "Usage: kubectl $name " <<<"$help" || { echo "dist: kubectl-$name$exe --help does not speak as kubectl $name" >&2; exit 1; }
    done
    echo "dist: kubectl-modelbump$exe and kubectl-gpufit$exe answer --help"
    exit 0
fi
# --sbom PACKAGE OUT_FILE: the SPDX 2.3 JSON document of PACKAGE's crates
#   as built for this machine (cargo metadata --filter-platform: the musl
#   target on linux, where every shipped binary is the static build; the
#   host elsewhere; Cargo.lock),
#   by gpuops-dist (a debug build: the document does not depend on how it
#   was compiled); `created` is the last commit's time (SOURCE_DATE_EPOCH
#   if set), so one commit gives one document. The image builds call it.
if [[ "${1:-}" == "--sbom" ]]; then
    [[ $# -eq 3 ]] || { echo "usage: scripts/dist.sh --sbom PACKAGE OUT_FILE" >&2; exit 2; }
    if [[ -z "${GPUOPS_DIST:-}" ]]; then
        cargo build --quiet --locked -p gpuops-dist
        GPUOPS_DIST="$target_dir/debug/gpuops-dist"
    fi
    SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}"
    export SOURCE_DATE_EPOCH
    mkdir -p "$(dirname "$3")"
    source "$root/scripts/static-packages.sh"
    platform="$static_host"
    [[ "$static_host" == *-linux-* ]] && platform="$static_target"
    cargo metadata --format-version 1 --locked --filter-platform "$platform" \
        | "$GPUOPS_DIST" sbom "$2" >"$3"
    exit 0
fi
if [[ "${1:-}" == "--manifests" ]]; then
    [[ $# -eq 3 ]] || { echo "usage: scripts/dist.sh --manifests TAG OUT_DIR" >&2; exit 2; }
    gpuops_dist
    "$GPUOPS_DIST" manifests --all "$2" "$3"
    exit 0
fi

tag="${1:?usage: scripts/dist.sh vX.Y.Z [OUT_DIR]}"
out="${2:-$root/dist}"
# The same packages, flags and --target as scripts/image-lib.sh: after the
# suite's image builds, this finds both plugins already built.
source "$root/scripts/static-packages.sh"
target="$static_target"
static_build
bin_dir="$target_dir/$target/release"
check_static "$bin_dir/kubectl-modelbump" "$bin_dir/kubectl-gpufit"
echo "dist: static binaries in $bin_dir"
gpuops_dist
# Only ever a directory this script made (or an empty one): OUT_DIR is
# replaced, so refuse one holding anything but a previous dist's files.
if [[ -d "$out" ]] && find "$out" -mindepth 1 -maxdepth 1 ! -name 'kubectl-*' ! -name krew ! -name checksums.txt ! -name '.krew-check-*' | grep -q .; then
    echo "dist: $out holds files dist.sh did not make; refusing to replace it" >&2
    exit 1
fi
rm -rf "$out"
"$GPUOPS_DIST" "$tag" "$target" "$bin_dir" "$out"
