# The packages whose binaries ship statically linked (glibc, crt-static):
# the three images' (krm-functions/gpuops-inject, plugins/argocd-cmp,
# plugins/kubectl-modelbump build-image.sh) and the two krew archives'
# (scripts/dist.sh). Sourced by scripts/image-lib.sh and scripts/dist.sh,
# which always build all of them in one cargo invocation with the same flags
# and --target: one feature set, so whichever builds second finds every
# binary up to date instead of recompiling the shared dependencies (a test
# run builds the images first, then the archives).
static_packages=(gpuops-inject-function argocd-gpuops-cmp kubectl-modelbump kubectl-gpufit)
static_cargo_args=()
for p in "${static_packages[@]}"; do static_cargo_args+=(-p "$p"); done
