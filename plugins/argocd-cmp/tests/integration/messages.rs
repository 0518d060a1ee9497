//! Issue 19, deliverable 7: what a person reads — the help texts and every
//! message of a usage error or a bad input — as reviewed snapshots, so a
//! wording change is a reviewed change. Each snapshot lists the command or
//! the Application's input, the exit code and what the plugin printed.

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::harness::{Source, Workspace, parameters, text};

const DEV: &str = "examples/llmops-overlays/overlays/dev";

fn snapshots() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/snapshots")
}

/// `argocd-gpuops-cmp ARGS` at a terminal: empty environment but PATH.
fn cmp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_argocd-gpuops-cmp"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

fn entry(title: &str, out: &Output) -> String {
    gpuops_testkit::snapshot::entry(title, out)
}

#[test]
fn help_texts() {
    let mut all = String::new();
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["generate", "--help"],
        &["parameters", "--help"],
        &["self-check", "--help"],
    ] {
        let out = cmp(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        all.push_str(&entry(&format!("argocd-gpuops-cmp {}", args.join(" ")), &out));
    }
    gpuops_testkit::assert_reviewed!(snapshots(), "cmp-help", all);
}

#[test]
fn usage_errors() {
    let mut all = String::new();
    for args in [
        &[][..],
        &["render"],
        &["generate", "extra"],
        &["generate", "--nodes", "2*8xL4"],
        &["parameters", "--x"],
        &["self-check", "x"],
    ] {
        let out = cmp(args);
        assert_eq!(out.status.code(), Some(2), "usage errors exit 2: {args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        all.push_str(&entry(&format!("argocd-gpuops-cmp {}", args.join(" ")), &out));
    }
    gpuops_testkit::assert_reviewed!(snapshots(), "cmp-usage-errors", all);
}

/// A render that fails: exit 1, nothing on stdout (Argo CD would apply it).
fn failed(ws: &Workspace, source: &Source) -> Output {
    let out = ws.generate(source);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "a failed render prints nothing");
    out
}

/// Every message an Application's parameters, settings or files can
/// cause in `generate`, one per cause.
#[test]
fn input_errors() {
    let ws = Workspace::new();
    ws.write("apps/bad-replicas/deployment.yaml", BAD_REPLICAS);
    ws.write("apps/empty/list.yaml", "apiVersion: v1\nkind: List\nitems: []\n");
    ws.write("apps/bad-replicas/nodes.yaml", "this: is not a node dump\n");
    let gate = |capacity: &str| parameters(&[("fit-gate", json!("enforce")), ("capacity", json!(capacity))]);
    let cases: Vec<(&str, Source)> = vec![
        ("unknown parameter", Source::at(DEV).with(parameters(&[("gpu-cnt", json!("2"))]))),
        ("gpu-count not a number", Source::at(DEV).with(parameters(&[("gpu-count", json!("two"))]))),
        ("gpu-count as an array", Source::at(DEV).with(parameters(&[("gpu-count", json!(["2"]))]))),
        ("gpu-product without gpu-count", Source::at(DEV).with(parameters(&[("gpu-product", json!("NVIDIA-L4"))]))),
        (
            "gpu-resource not a GPU resource",
            Source::at(DEV).with(parameters(&[("gpu-count", json!("1")), ("gpu-resource", json!("cpu"))])),
        ),
        ("fit-gate unknown mode", Source::at(DEV).with(parameters(&[("fit-gate", json!("strict"))]))),
        ("fit-gate without capacity", Source::at(DEV).with(parameters(&[("fit-gate", json!("warn"))]))),
        ("capacity pools that do not parse", Source::at(DEV).with(gate("2*8xNoSuchGPU"))),
        ("capacity file missing", Source::at(DEV).with(gate("../../capacity/missing.yaml"))),
        ("capacity outside the repository", Source::at(DEV).with(gate("/etc/passwd"))),
        ("capacity file without nodes", Source::at("apps/bad-replicas").with(gate("nodes.yaml"))),
        ("allow-empty not a boolean", Source::at(DEV).with(parameters(&[("allow-empty", json!("yes"))]))),
        ("kube-version not a version", Source::at(DEV).with(parameters(&[("kube-version", json!("latest"))]))),
        (
            "a parameter given twice",
            Source::at(DEV).with(json!([{"name": "gpu-count", "string": "1"}, {"name": "gpu-count", "string": "2"}])),
        ),
        ("ARGOCD_APP_PARAMETERS not an array", Source::at(DEV).with(json!({"gpu-count": "2"}))),
        ("GPUOPS_DEADLINE not seconds", with_env(Source::at(DEV), "GPUOPS_DEADLINE", "soon")),
        ("a sidecar-only setting in plugin.env", with_env(Source::at(DEV), "GPUOPS_KUSTOMIZE", "/bin/sh")),
        ("an empty render", Source::at("apps/empty")),
        ("the fit gate cannot read a workload", Source::at("apps/bad-replicas").with(gate("1*8xH100-80GB"))),
    ];
    let mut all = String::new();
    for (title, source) in cases {
        let out = failed(&ws, &source);
        let shown = source.parameters.as_ref().map_or("null".into(), Value::to_string);
        let env: Vec<String> = source.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        all.push_str(&entry(&format!("{title}: {} parameters={shown} env=[{}]", source.path, env.join(" ")), &out));
    }
    gpuops_testkit::assert_reviewed!(snapshots(), "cmp-input-errors", all);
}

fn with_env(mut source: Source, name: &str, value: &str) -> Source {
    source.env.insert(name.into(), value.into());
    source
}

const BAD_REPLICAS: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ml}
spec:
  replicas: two
  template:
    spec:
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.10.1
        resources: {limits: {nvidia.com/gpu: 1}}
";

/// Issue 19, deliverable 5: an error of the fit gate itself (here, a
/// workload it cannot read) says it comes from the fit gate; it used to be
/// labelled "parameters:", sending the reader to the Application's
/// parameters, which were fine.
#[test]
fn a_fit_gate_error_is_labelled_as_the_fit_gate() {
    let ws = Workspace::new();
    ws.write("apps/bad-replicas/deployment.yaml", BAD_REPLICAS);
    let source = Source::at("apps/bad-replicas")
        .with(parameters(&[("fit-gate", json!("enforce")), ("capacity", json!("1*8xH100-80GB"))]));
    let stderr = text(&failed(&ws, &source).stderr);
    assert!(stderr.starts_with("argocd-gpuops-cmp: fit gate: Deployment/ml/web: "), "{stderr}");
    assert!(!stderr.contains("parameters"), "{stderr}");
    // Without the gate the same app renders: the workload is only a problem for the gate.
    let out = ws.generate(&Source::at("apps/bad-replicas"));
    assert!(out.status.success(), "{}", text(&out.stderr));
}
