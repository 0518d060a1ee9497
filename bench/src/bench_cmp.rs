//! argocd-gpuops-cmp beside plain kustomize, in one run. Prints numbers;
//! run with `scripts/bench.sh cmp`.
//! - a 2,000-Deployment app whose kustomization declares no function,
//!   parameters applied in process: target <= 1.05x `kubectl kustomize`;
//! - seed 001's production overlay, which declares the function: target
//!   <= 1.05x kustomize with a pass-through (`cat`) legacy plugin;
//! - `parameters` on the 2,000-Deployment app: target < 0.2 s.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Peer and ours alternately, `rounds` times: medians of each and of the
/// per-round ratio (this machine's speed drifts; alternating cancels it).
fn paired(
    rounds: usize,
    mut peer: impl FnMut() -> Duration,
    mut ours: impl FnMut() -> Duration,
) -> (Duration, Duration, f64) {
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let p = peer();
        let o = ours();
        r.push(o.as_secs_f64() / p.as_secs_f64());
        a.push(p);
        b.push(o);
    }
    a.sort();
    b.sort();
    r.sort_by(f64::total_cmp);
    (a[rounds / 2], b[rounds / 2], r[rounds / 2])
}

fn median(mut f: impl FnMut() -> Duration, rounds: usize) -> Duration {
    let mut samples: Vec<Duration> = (0..rounds).map(|_| f()).collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn timed(mut cmd: Command) -> Duration {
    let started = Instant::now();
    let out = cmd.output().expect("spawn");
    assert!(out.status.success(), "{:?}: {}", cmd, String::from_utf8_lossy(&out.stderr));
    started.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let absolute =
        |p: &str| PathBuf::from(p).canonicalize().unwrap_or_else(|e| panic!("{p}: {e} (scripts/bench.sh builds it)"));
    let cmp = absolute(args.first().map_or("target/release/argocd-gpuops-cmp", String::as_str));
    let function = absolute(args.get(1).map_or("target/release/gpuops-inject", String::as_str));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo").to_path_buf();
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("plugins");
    let installed = Command::new(&function).args(["install-plugin", "--dir"]).arg(&home).output().expect("install");
    assert!(installed.status.success());
    let rounds = 5;

    // 2,000 Deployments, no function in the kustomization.
    let app = dir.path().join("big");
    std::fs::create_dir_all(&app).unwrap();
    let mut text = String::new();
    for i in 0..2000 {
        let _ = write!(
            text,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llm-{i}\n  labels: {{app: llm-{i}}}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: llm-{i}}}\n  template:\n    metadata:\n      labels: {{app: llm-{i}}}\n    spec:\n      containers:\n      - name: vllm\n        image: registry.example.com/models/qwen:v1.0.0\n        args: [--model, /models/qwen]\n        resources:\n          limits: {{nvidia.com/gpu: 1}}\n"
        );
    }
    std::fs::write(app.join("deployments.yaml"), text).unwrap();
    std::fs::write(app.join("kustomization.yaml"), "resources: [deployments.yaml]\n").unwrap();
    let params = r#"[{"name":"gpu-count","string":"2"},{"map":{"registry.example.com/models/qwen":"v2.0.0"},"name":"model-tags"}]"#;
    let kustomize = |dir: &Path| {
        let mut c = Command::new("kubectl");
        c.args(["kustomize", "--enable-alpha-plugins", "."]).current_dir(dir).env("KUSTOMIZE_PLUGIN_HOME", &home);
        c
    };
    let generate = |dir: &Path, params: &str| {
        let mut c = Command::new(&cmp);
        c.arg("generate").current_dir(dir).env("KUSTOMIZE_PLUGIN_HOME", &home).env("ARGOCD_APP_PARAMETERS", params);
        c
    };
    let (plain, ours, ratio) = paired(rounds, || timed(kustomize(&app)), || timed(generate(&app, params)));
    println!(
        "2,000 Deployments, parameters in process: kubectl kustomize {:.2} s, generate {:.2} s: median ratio {ratio:.2}x (target <= 1.05x)",
        plain.as_secs_f64(),
        ours.as_secs_f64()
    );
    let announce = median(
        || {
            let mut c = Command::new(&cmp);
            c.arg("parameters").current_dir(&app);
            timed(c)
        },
        rounds,
    );
    println!("parameters on the same app: {:.3} s (target < 0.2 s)", announce.as_secs_f64());

    // Seed 001 production: the kustomization declares the function; the
    // peer is the same kustomization with a pass-through plugin in its place.
    let overlay = root.join("examples/llmops-overlays/overlays/production");
    let passthrough = dir.path().join("passthrough");
    for kind in ["gpuprofile/GpuProfile", "modeltags/ModelTags"] {
        let path = passthrough.join("gpuops.dev/v1alpha1").join(kind);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "#!/bin/sh\nexec cat\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (with_cat, ours, ratio) = paired(
        rounds * 3,
        || {
            let mut c = kustomize(&overlay);
            c.env("KUSTOMIZE_PLUGIN_HOME", &passthrough);
            timed(c)
        },
        || timed(generate(&overlay, "null")),
    );
    println!(
        "seed 001 production (function declared): kustomize + pass-through plugin {:.3} s, generate {:.3} s: median ratio {ratio:.2}x (target <= 1.05x)",
        with_cat.as_secs_f64(),
        ours.as_secs_f64()
    );
}
