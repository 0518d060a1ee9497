//! Integration tests for `gpuops-inject`: the real binary, driven as a KRM
//! function, as a kustomize legacy exec plugin through the real
//! `kubectl kustomize`, and as a container through the real docker engine.

mod cases;
mod container;
mod examples;
mod kpt;
mod krm;
mod readme;
mod util;
