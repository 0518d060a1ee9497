#!/usr/bin/env bash
# Build the gpuops-inject container image (default tag gpuops-inject:dev).
#   krm-functions/gpuops-inject/build-image.sh [IMAGE]
# The binary is linked statically (glibc, crt-static) so the image can be
# FROM scratch: no base image has to be pulled.
set -euo pipefail
image="${1:-gpuops-inject:dev}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
host="$(rustc -vV | sed -n 's/^host: //p')"
cd "$root"
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked -p gpuops-inject-function --target "$host"
binary="$root/target/$host/release/gpuops-inject"
if ldd "$binary" 2>&1 | grep -q "=>"; then
    echo "build-image: $binary is not static" >&2
    exit 1
fi
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/gpuops-inject"
cp "$here/Dockerfile" "$context/Dockerfile"
printf 'root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' > "$context/passwd"
if ! docker build --quiet -t "$image" "$context" >"$context/build.log" 2>&1; then
    cat "$context/build.log" >&2
    exit 1
fi
echo "built $image ($(du -h "$binary" | cut -f1) binary)"
