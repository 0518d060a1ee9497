# shellcheck shell=bash
# Shared steps of the image builds (sourced by krm-functions/gpuops-inject,
# plugins/argocd-cmp and plugins/kubectl-modelbump build-image.sh):
# static release binaries, a FROM-scratch context, and one naming and
# labelling scheme — gpuops/<name>:<version>, OCI labels title, source,
# version, licenses.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
# cargo builds into CARGO_TARGET_DIR when it is set (relative to where cargo
# runs, which is $root here).
target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" = /* ]] || target_dir="$root/$target_dir"
source "$root/scripts/static-packages.sh"
# shellcheck disable=SC2034 # $bin: read by the build-image.sh scripts
bin="$target_dir/$static_target/release"

# image_build_static PACKAGE...: release binaries linked statically (musl,
# $static_target), so the image needs no base. PACKAGE must be one of
# $static_packages; all of them are built (scripts/static-packages.sh says why).
image_build_static() {
    for p in "$@"; do
        [[ " ${static_packages[*]} " == *" $p "* ]] || { echo "build-image: $p is not a static package" >&2; exit 1; }
    done
    (cd "$root" && static_build)
}

# image_check_static FILE...: refuse a dynamically linked binary (or a
# missing one): scripts/dist.sh's check by ELF, no NEEDED entry in the
# dynamic section (ldd cannot tell a static-pie apart).
image_check_static() {
    bash "$root/scripts/dist.sh" --check-static "$@"
}

# image_context: a fresh build context in $context (removed on exit).
image_context() {
    context="$(mktemp -d)"
    trap 'rm -rf "$context"' EXIT
}

# image_docker_build NAME DOCKERFILE TAG...: build $context with the
# Dockerfile, tagged gpuops/NAME:VERSION and every TAG given.
image_docker_build() {
    local name="$1" dockerfile="$2"
    shift 2
    local tags=(-t "gpuops/$name:$version")
    for t in "$@"; do tags+=(-t "$t"); done
    cp "$dockerfile" "$context/Dockerfile"
    if ! docker build --quiet --build-arg "VERSION=$version" "${tags[@]}" \
        --label "org.opencontainers.image.title=$name" \
        --label "org.opencontainers.image.source=https://github.com/gpuops/gpuops" \
        --label "org.opencontainers.image.version=$version" \
        --label "org.opencontainers.image.licenses=Apache-2.0" \
        "$context" >"$context/build.log" 2>&1; then
        cat "$context/build.log" >&2
        exit 1
    fi
    echo "built gpuops/$name:$version $*"
}
