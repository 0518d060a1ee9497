//! argocd-gpuops-cmp beside plain kustomize, in one run. Prints numbers;
//! run with `scripts/bench.sh cmp`.
//! - a 2,000-Deployment app whose kustomization declares no function,
//!   parameters applied in process: target <= 1.05x `kubectl kustomize`;
//! - seed 001's production overlay, which declares the function: target
//!   <= 1.05x kustomize with a pass-through (`cat`) legacy plugin;
//! - `parameters` on the 2,000-Deployment app: target < 0.2 s;
//! - `huge`: a 40 MiB render (issue 22: the 2,000 Deployments and 2,000
//!   ConfigMaps of 20 KiB), one round, its time for the README's
//!   troubleshooting (Argo CD's 60 s RPC deadline).
#![allow(clippy::print_stdout)]
#![allow(unsafe_code)] // getrusage for the CPU time of the runs

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Wall-clock time and CPU time (user + system, the process and every
/// descendant it waited for) of one run.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

/// Medians over alternating rounds: peer, ours and the per-round ratios of
/// wall and CPU time. This machine's speed drifts by up to 2x between
/// minutes; alternating cancels the drift, and CPU time is immune to the
/// time the run spends waiting for a core.
struct Paired {
    peer: Sample,
    ours: Sample,
    wall_ratio: f64,
    cpu_ratio: f64,
}

fn paired(rounds: usize, mut peer: impl FnMut() -> Sample, mut ours: impl FnMut() -> Sample) -> Paired {
    let (mut p, mut o, mut wall, mut cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let a = peer();
        let b = ours();
        wall.push(b.wall.as_secs_f64() / a.wall.as_secs_f64());
        cpu.push(b.cpu.as_secs_f64() / a.cpu.as_secs_f64());
        p.push(a);
        o.push(b);
    }
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let median_sample = |v: &[Sample]| {
        let mut w: Vec<Duration> = v.iter().map(|s| s.wall).collect();
        let mut c: Vec<Duration> = v.iter().map(|s| s.cpu).collect();
        w.sort();
        c.sort();
        Sample { wall: w[w.len() / 2], cpu: c[c.len() / 2] }
    };
    Paired { peer: median_sample(&p), ours: median_sample(&o), wall_ratio: mid(wall), cpu_ratio: mid(cpu) }
}

fn report(what: &str, peer_name: &str, r: &Paired) {
    println!(
        "{what}: {peer_name} {:.3} s wall / {:.3} s cpu, generate {:.3} s wall / {:.3} s cpu: median ratio {:.3}x wall, {:.3}x cpu (target <= 1.05x)",
        r.peer.wall.as_secs_f64(),
        r.peer.cpu.as_secs_f64(),
        r.ours.wall.as_secs_f64(),
        r.ours.cpu.as_secs_f64(),
        r.wall_ratio,
        r.cpu_ratio
    );
}

fn children_cpu() -> Duration {
    // SAFETY: getrusage writes one rusage struct we own; RUSAGE_CHILDREN
    // covers every terminated and waited-for descendant.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn median(mut f: impl FnMut() -> Duration, rounds: usize) -> Duration {
    let mut samples: Vec<Duration> = (0..rounds).map(|_| f()).collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn timed(mut cmd: Command) -> Sample {
    let cpu_before = children_cpu();
    let started = Instant::now();
    let out = cmd.output().expect("spawn");
    let wall = started.elapsed();
    assert!(out.status.success(), "{:?}: {}", cmd, String::from_utf8_lossy(&out.stderr));
    Sample { wall, cpu: children_cpu() - cpu_before }
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
    let rounds = args.get(2).map_or(7, |r| r.parse().expect("ROUNDS is a number"));
    // `all`, `big` (the 2,000-Deployment app) or `seed` (seed 001).
    let which = args.get(3).map_or("all", String::as_str);

    // 2,000 Deployments (75,000 for `huge`: 40 MiB rendered), no function
    // in the kustomization.
    let app = dir.path().join("big");
    std::fs::create_dir_all(&app).unwrap();
    let mut text = String::new();
    let count = 2000;
    for i in 0..count {
        let _ = write!(
            text,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llm-{i}\n  labels: {{app: llm-{i}}}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: llm-{i}}}\n  template:\n    metadata:\n      labels: {{app: llm-{i}}}\n    spec:\n      containers:\n      - name: vllm\n        image: registry.example.com/models/qwen:v1.0.0\n        args: [--model, /models/qwen]\n        resources:\n          limits: {{nvidia.com/gpu: 1}}\n"
        );
    }
    std::fs::write(app.join("deployments.yaml"), text).unwrap();
    if which == "huge" {
        // 40 MiB the way real renders get there: big objects (CRDs,
        // ConfigMaps of prompts or dashboards), not ever more small ones —
        // kustomize's own cost grows faster than linearly with the object
        // count (75,000 small Deployments ran past 14 CPU minutes).
        let line = format!("    {}\n", "x".repeat(100));
        let mut maps = String::new();
        for i in 0..2000 {
            let _ = write!(
                maps,
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prompts-{i}\ndata:\n  prompts.txt: |\n"
            );
            for _ in 0..200 {
                maps.push_str(&line);
            }
        }
        std::fs::write(app.join("configmaps.yaml"), maps).unwrap();
        std::fs::write(app.join("kustomization.yaml"), "resources: [deployments.yaml, configmaps.yaml]\n").unwrap();
    } else {
        std::fs::write(app.join("kustomization.yaml"), "resources: [deployments.yaml]\n").unwrap();
    }
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
    if which == "huge" {
        // One round each: a run takes tens of seconds. No deadline of ours.
        let peer = timed(kustomize(&app));
        let out = generate(&app, params).env("GPUOPS_DEADLINE", "600s").output().expect("generate");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let ours = timed({
            let mut c = generate(&app, params);
            c.env("GPUOPS_DEADLINE", "600s");
            c
        });
        println!(
            "{count} Deployments + 2,000 ConfigMaps, {:.1} MiB rendered: kubectl kustomize {:.1} s, generate {:.1} s ({:.2}x)",
            out.stdout.len() as f64 / (1u64 << 20) as f64,
            peer.wall.as_secs_f64(),
            ours.wall.as_secs_f64(),
            ours.wall.as_secs_f64() / peer.wall.as_secs_f64()
        );
        return;
    }
    if which != "seed" {
        let big = paired(rounds, || timed(kustomize(&app)), || timed(generate(&app, params)));
        report("2,000 Deployments, parameters in process", "kubectl kustomize", &big);
        let announce = median(
            || {
                let mut c = Command::new(&cmp);
                c.arg("parameters").current_dir(&app);
                timed(c).wall
            },
            rounds,
        );
        println!("parameters on the same app: {:.3} s (target < 0.2 s)", announce.as_secs_f64());
    }
    if which == "big" {
        return;
    }

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
    // Runs of ~0.13 s on a machine whose speed drifts: many more rounds.
    let seed = paired(
        rounds * 9,
        || {
            let mut c = kustomize(&overlay);
            c.env("KUSTOMIZE_PLUGIN_HOME", &passthrough);
            timed(c)
        },
        || timed(generate(&overlay, "null")),
    );
    report("seed 001 production (function declared)", "kustomize + pass-through plugin", &seed);
}
