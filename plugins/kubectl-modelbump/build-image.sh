#!/usr/bin/env bash
# Build the modelbump image for the CronJob of examples/flux-oci-models:
# gpuops/modelbump:<version>, also tagged IMAGE (default gpuops/modelbump:dev).
#   plugins/kubectl-modelbump/build-image.sh [IMAGE]
# FROM scratch: kubectl-modelbump linked statically, plus what the CronJob's
# script runs — /bin/sh (dash), git with its helpers (clone, push over ssh,
# https or file) and ssh — copied from this machine's Debian packages with
# the shared libraries they load (ldd), the CA bundle, and /etc/passwd with
# nobody (uid 65534), as the CronJob runs. modelbump drives the git CLI
# (a handful of calls per run), so ssh keys, known_hosts, credential helpers
# and commit signing work exactly as users configure them; the image carries
# git instead of a second, native implementation of clone/commit/push.
set -euo pipefail
image="${1:-gpuops/modelbump:dev}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../scripts/image-lib.sh"
image_build_static kubectl-modelbump
image_check_static "$bin/kubectl-modelbump"
for tool in git ssh dash; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is needed on this machine (apt-get install git openssh-client dash)" >&2; exit 1; }
done
image_context
fs="$context/rootfs"
mkdir -p "$fs/usr/local/bin" "$fs/usr/bin" "$fs/bin" "$fs/usr/lib" "$fs/usr/share/git-core" "$fs/etc/ssl/certs" "$fs/tmp" "$fs/work"
cp "$bin/kubectl-modelbump" "$fs/usr/local/bin/kubectl-modelbump"
cp "$(readlink -f "$(command -v dash)")" "$fs/bin/sh"
cp "$(readlink -f "$(command -v git)")" "$fs/usr/bin/git"
cp "$(readlink -f "$(command -v ssh)")" "$fs/usr/bin/ssh"
exec_path="$(git --exec-path)"
mkdir -p "$fs$exec_path"
cp -a "$exec_path/." "$fs$exec_path/"
[ -d /usr/share/git-core/templates ] && cp -a /usr/share/git-core/templates "$fs/usr/share/git-core/"
cp /etc/ssl/certs/ca-certificates.crt "$fs/etc/ssl/certs/"
# Every shared library the ELF files load, and the loader.
find "$fs" -type f -perm -u+x -exec sh -c 'ldd "$1" 2>/dev/null' _ {} \; \
    | awk '/=>/ && $3 ~ /^\// {print $3} /^\t\/lib/ {print $1}' | sort -u | while read -r lib; do
    mkdir -p "$fs$(dirname "$lib")"
    cp -L "$lib" "$fs$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/work:/sbin/nologin\n' > "$fs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$fs/etc/group"
chmod 1777 "$fs/tmp" "$fs/work"
# SBOM: the crates in the binary, SPDX 2.3 JSON (scripts/dist.sh --sbom);
# git, ssh and dash are Debian's packages of this machine.
bash "$here/../../scripts/dist.sh" --sbom kubectl-modelbump "$fs/usr/share/doc/gpuops/sbom/kubectl-modelbump.spdx.json"
image_docker_build modelbump "$here/Dockerfile" "$image"
