//! The container image through the real docker engine, started by kustomize
//! the way it starts every KRM container function.

use crate::util::{self, assert_golden, repo_root, text};

const IMAGE: &str = "gpuops-inject:dev";

fn require_image() {
    let out = util::hermetic("docker").args(["image", "inspect", IMAGE]).output().expect("docker CLI");
    assert!(
        out.status.success(),
        "image {IMAGE} is missing: build it with krm-functions/gpuops-inject/build-image.sh (scripts/test.sh does) — {}",
        text(&out.stderr).trim()
    );
}

/// The image carries gpuops' naming and OCI labels (scripts/image-lib.sh).
#[test]
fn the_image_is_named_and_labelled_like_every_gpuops_image() {
    require_image();
    let named = format!("gpuops/gpuops-inject:{}", env!("CARGO_PKG_VERSION"));
    let out = util::hermetic("docker")
        .args(["image", "inspect", "--format", "{{json .Config.Labels}}", &named])
        .output()
        .unwrap();
    assert!(out.status.success(), "{named} is missing: {}", text(&out.stderr));
    let labels: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(labels["org.opencontainers.image.title"], "gpuops-inject");
    assert_eq!(labels["org.opencontainers.image.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
    assert_eq!(labels["org.opencontainers.image.source"], "https://github.com/gpuops/gpuops");
}

#[test]
fn container_function_gives_the_same_output_as_the_plugin() {
    require_image();
    let root = repo_root();
    // No plugin home: only the container can do the work.
    let empty = tempfile::tempdir().unwrap();
    let out = util::kustomize(&root.join("examples/llmops-overlays/overlays/production-container"), empty.path());
    assert!(out.status.success(), "kustomize with container function failed: {}", text(&out.stderr));
    assert_golden(&root.join("examples/llmops-overlays/expected/production.yaml"), &text(&out.stdout));
}

#[test]
fn container_runs_as_nobody_without_network_and_reports_errors() {
    require_image();
    let list = r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[],
        "functionConfig":{"apiVersion":"gpuops.dev/v1alpha1","kind":"GpuProfile","metadata":{"name":"bad"},"spec":{"gpu":{"count":"two"}}}}"#;
    let mut cmd = util::hermetic("docker");
    cmd.args(["run", "--rm", "-i", "--network", "none", "--user", "nobody", "--security-opt=no-new-privileges", IMAGE]);
    let out = util::run_with_stdin(cmd, list);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\"severity\": \"error\""), "{stdout}");
    assert!(text(&out.stderr).contains("GpuProfile/bad: spec.gpu.count: invalid value"), "{}", text(&out.stderr));
}
