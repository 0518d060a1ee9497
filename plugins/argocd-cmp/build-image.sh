#!/usr/bin/env bash
# Build the gpuops CMP sidecar image (default gpuops/argocd-gpuops-cmp:dev).
#   plugins/argocd-cmp/build-image.sh [IMAGE]
# Binaries are linked statically (glibc, crt-static) so the image can be
# FROM scratch; kubectl is copied from this machine (it is a static Go
# binary) as the kustomize provider.
set -euo pipefail
image="${1:-gpuops/argocd-gpuops-cmp:dev}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
host="$(rustc -vV | sed -n 's/^host: //p')"
cd "$root"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked \
    -p argocd-gpuops-cmp -p gpuops-inject-function --target "$host"
bin="$root/target/$host/release"
kubectl="$(readlink -f "$(command -v kubectl)")"
for b in "$bin/argocd-gpuops-cmp" "$bin/gpuops-inject" "$kubectl"; do
    if ldd "$b" 2>&1 | grep -q "=>"; then
        echo "build-image: $b is not static" >&2
        exit 1
    fi
done
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
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
cp "$here/Dockerfile" "$context/Dockerfile"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
if ! docker build --quiet --build-arg "VERSION=$version" -t "$image" "$context" >"$context/build.log" 2>&1; then
    cat "$context/build.log" >&2
    exit 1
fi
echo "built $image"
