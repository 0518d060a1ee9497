#!/usr/bin/env bash
# Build the gpuops CMP sidecar image: gpuops/argocd-gpuops-cmp:<version>,
# also tagged IMAGE (default gpuops/argocd-gpuops-cmp:dev).
#   plugins/argocd-cmp/build-image.sh [IMAGE]
# Binaries are linked statically (glibc, crt-static) so the image can be
# FROM scratch; kubectl is copied from this machine (it is a static Go
# binary) as the kustomize provider.
set -euo pipefail
image="${1:-gpuops/argocd-gpuops-cmp:dev}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../scripts/image-lib.sh"
image_build_static argocd-gpuops-cmp gpuops-inject-function
kubectl="$(readlink -f "$(command -v kubectl)")"
image_check_static "$bin/argocd-gpuops-cmp" "$bin/gpuops-inject" "$kubectl"
image_context
fs="$context/rootfs"
mkdir -p "$fs/usr/local/bin" "$fs/etc" "$fs/home/argocd/cmp-server/config" "$fs/tmp"
cp "$bin/argocd-gpuops-cmp" "$bin/gpuops-inject" "$fs/usr/local/bin/"
cp "$kubectl" "$fs/usr/local/bin/kubectl"
"$bin/gpuops-inject" install-plugin --dir "$fs/usr/local/lib/kustomize/plugin" >/dev/null
cp "$here/plugin.yaml" "$fs/home/argocd/cmp-server/config/plugin.yaml"
printf 'root:x:0:0:root:/:/sbin/nologin\nargocd:x:999:999:argocd:/home/argocd:/sbin/nologin\n' > "$fs/etc/passwd"
printf 'root:x:0:\nargocd:x:999:\n' > "$fs/etc/group"
chmod 1777 "$fs/tmp"
chown -R 999:999 "$fs/home/argocd"
image_docker_build argocd-gpuops-cmp "$here/Dockerfile" "$image"
