# shellcheck shell=bash
# The packages whose binaries ship statically linked against musl: the
# three images' (krm-functions/gpuops-inject, plugins/argocd-cmp,
# plugins/kubectl-modelbump build-image.sh) and the two krew archives'
# (scripts/dist.sh). Sourced by scripts/image-lib.sh and scripts/dist.sh,
# which always build all of them in one cargo invocation with the same flags,
# environment and --target: one feature set, so whichever builds second
# finds every binary up to date instead of recompiling the shared
# dependencies (a test run builds the images first, then the archives).
static_packages=(gpuops-inject-function argocd-gpuops-cmp kubectl-modelbump kubectl-gpufit)
static_cargo_args=()
for p in "${static_packages[@]}"; do static_cargo_args+=(-p "$p"); done

# static_target: the musl target of this machine's architecture
# (x86_64-unknown-linux-musl, aarch64-unknown-linux-musl). Rust's musl
# targets link statically by default (crt-static is their default), so no
# RUSTFLAGS are needed; unlike static glibc, musl's getaddrinfo reads
# /etc/hosts and resolv.conf itself instead of dlopen()ing NSS modules the
# FROM-scratch images do not have. Installed by scripts/setup.sh
# (rustup target add).
static_host="$(rustc -vV | sed -n 's/^host: //p')"
static_target="${static_host%%-*}-unknown-linux-musl"

# ring and libmimalloc-sys compile C for the target with cc-rs, which looks
# for `<arch>-linux-musl-gcc` (and `musl-gcc` on x86_64 only; cc-rs 1.11
# src/lib.rs GNU_PREFIX_CANDIDATES). Debian's and Ubuntu's musl-tools ship
# the native architecture's wrapper as `musl-gcc` alone, so it is named
# explicitly for every architecture (a CC_<target> already set wins). The
# same value on every build: cc-rs makes build scripts rerun when it changes.
static_cc_var="CC_${static_target//-/_}"
export "$static_cc_var=${!static_cc_var:-musl-gcc}"

# static_build: the one release build of every static package.
static_build() {
    RUSTFLAGS="" cargo build --quiet --release --locked "${static_cargo_args[@]}" --target "$static_target"
}
