#!/usr/bin/env bash
# Build the gpuops CMP sidecar image: gpuops/argocd-gpuops-cmp:<version>,
# also tagged IMAGE (default gpuops/argocd-gpuops-cmp:dev).
#   plugins/argocd-cmp/build-image.sh [IMAGE]
# Binaries are linked statically (musl, scripts/static-packages.sh) so the image can be
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
# git for kustomize's remote bases, from this machine's Debian packages
# (git, dash, coreutils, sed: no image can be pulled here), each program with
# the shared libraries and loader it links (ldd). `git submodule`, which
# kustomize runs after every clone, is a shell script in git 2.39: hence
# /bin/sh (dash) and the basename/sed/uname it calls.
# Debian 12 merges /bin and /lib into /usr: the rootfs gets the same links,
# so the paths ldd prints (and the loader named in each binary) resolve.
mkdir -p "$fs/usr/bin" "$fs/usr/lib" "$fs/usr/lib64"
for d in bin lib lib64; do [ -e "$fs/$d" ] || ln -s "usr/$d" "$fs/$d"; done
copy_with_libs() {
    for f in "$@"; do
        cp --parents -L "$f" "$fs"
        { ldd "$f" 2>/dev/null || true; } | awk '/=>/ {print $3} /^[[:space:]]*\// {print $1}' | while read -r lib; do
            [ -e "$fs$lib" ] || cp --parents -L "$lib" "$fs"
        done
    done
}
for p in git dash coreutils sed ca-certificates tini; do
    dpkg -s "$p" >/dev/null 2>&1 || { echo "build-image: Debian package $p is not installed here" >&2; exit 1; }
done
core=/usr/lib/git-core
copy_with_libs /usr/bin/git "$core/git-remote-http" "$core/git-remote-https" "$core/git-submodule" \
    "$core/git-sh-setup" "$core/git-sh-i18n" "$core/git-sh-i18n--envsubst" /bin/dash /usr/bin/basename /usr/bin/sed /usr/bin/uname
ln -sf dash "$fs/bin/sh"
mkdir -p "$fs/usr/share/git-core" && cp -r /usr/share/git-core/templates "$fs/usr/share/git-core/"
# Debian's CA bundle (ca-certificates), where git's libcurl looks for it.
mkdir -p "$fs/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$fs/etc/ssl/certs/ca-certificates.crt"
# tini (Debian's tini-static) runs as PID 1 in front of argocd-cmp-server,
# which does not reap (argo-cd #29349): a render Argo CD kills at the
# deadline leaves its children to PID 1, and only a reaper collects them.
image_check_static /usr/bin/tini-static
cp /usr/bin/tini-static "$fs/usr/bin/tini"
printf 'root:x:0:0:root:/:/sbin/nologin\nargocd:x:999:999:argocd:/home/argocd:/sbin/nologin\n' > "$fs/etc/passwd"
printf 'root:x:0:\nargocd:x:999:\n' > "$fs/etc/group"
chmod 1777 "$fs/tmp"
chown -R 999:999 "$fs/home/argocd"
# SBOMs: the crates in each gpuops binary, SPDX 2.3 JSON (scripts/dist.sh
# --sbom); kubectl is the host's own binary and carries its own.
for p in argocd-gpuops-cmp gpuops-inject-function; do
    bash "$here/../../scripts/dist.sh" --sbom "$p" "$fs/usr/share/doc/gpuops/sbom/$p.spdx.json"
done
image_docker_build argocd-gpuops-cmp "$here/Dockerfile" "$image"
