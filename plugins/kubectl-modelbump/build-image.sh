#!/usr/bin/env bash
# Build the modelbump image for the CronJob of examples/flux-oci-models
# (default gpuops/modelbump:dev).
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
root="$(cd "$here/../.." && pwd)"
host="$(rustc -vV | sed -n 's/^host: //p')"
cd "$root"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked -p kubectl-modelbump --target "$host"
bin="$root/target/$host/release/kubectl-modelbump"
if ldd "$bin" 2>&1 | grep -q "=>"; then
    echo "build-image: $bin is not static" >&2
    exit 1
fi
for tool in git ssh dash; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is needed on this machine (apt-get install git openssh-client dash)" >&2; exit 1; }
done
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
fs="$context/rootfs"
mkdir -p "$fs/usr/local/bin" "$fs/usr/bin" "$fs/bin" "$fs/usr/lib" "$fs/usr/share/git-core" "$fs/etc/ssl/certs" "$fs/tmp" "$fs/work"
cp "$bin" "$fs/usr/local/bin/kubectl-modelbump"
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
cp "$here/Dockerfile" "$context/Dockerfile"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
if ! docker build --quiet --build-arg "VERSION=$version" -t "$image" "$context" >"$context/build.log" 2>&1; then
    cat "$context/build.log" >&2
    exit 1
fi
echo "built $image"
