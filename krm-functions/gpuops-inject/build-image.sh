#!/usr/bin/env bash
# Build the gpuops-inject container image: gpuops/gpuops-inject:<version>,
# also tagged IMAGE (default gpuops-inject:dev, the name the examples'
# Kptfiles and container functions use).
#   krm-functions/gpuops-inject/build-image.sh [IMAGE]
# FROM scratch with the statically linked binary: no base image is pulled.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../scripts/image-lib.sh"
image_build_static gpuops-inject-function
image_check_static "$bin/gpuops-inject"
image_context
cp "$bin/gpuops-inject" "$context/gpuops-inject"
printf 'root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' > "$context/passwd"
# SBOM: the crates in the binary, SPDX 2.3 JSON (scripts/dist.sh --sbom).
bash "$here/../../scripts/dist.sh" --sbom gpuops-inject-function "$context/gpuops-inject-function.spdx.json"
image_docker_build gpuops-inject "$here/Dockerfile" "${1:-gpuops-inject:dev}"
