#!/usr/bin/env bash
# Install and start what gpuops' tests and demo need on a fresh machine.
# Idempotent: safe to run before every test run.
set -euo pipefail

need_apt=()
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v docker >/dev/null || need_apt+=(docker.io)
command -v git >/dev/null || need_apt+=(git)
# tini-static: PID 1 of the CMP sidecar image (plugins/argocd-cmp/build-image.sh).
[ -x /usr/bin/tini-static ] || need_apt+=(tini)
# musl-gcc: ring and libmimalloc-sys compile C for the static musl builds
# (scripts/static-packages.sh).
command -v musl-gcc >/dev/null || need_apt+=(musl-tools)
# openssl: modelbump's TLS tests make a CA and a registry certificate with it
# (plugins/kubectl-modelbump/tests/integration/tls.rs).
command -v openssl >/dev/null || need_apt+=(openssl)
if ((${#need_apt[@]})); then
    echo "setup: installing ${need_apt[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The Rust standard library for the static builds' musl target (from the
# Rust dist server), only when rustup does not list it yet.
musl_target="$(rustc -vV | sed -n 's/^host: \([^-]*\)-.*/\1/p')-unknown-linux-musl"
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$musl_target"; then
    echo "setup: rustup target add $musl_target" >&2
    rustup target add "$musl_target" >/dev/null
fi

if ! command -v kubectl >/dev/null; then
    echo "setup: kubectl (with its built-in kustomize) is required; install it (e.g. the kubectl package) and re-run" >&2
    exit 1
fi

if ! docker info >/dev/null 2>&1; then
    echo "setup: starting the docker engine" >&2
    (command -v service >/dev/null && service docker start >/dev/null 2>&1) || (dockerd >/tmp/dockerd.log 2>&1 &)
    for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "setup: docker engine did not start (see /tmp/dockerd.log)" >&2; exit 1; }
fi
