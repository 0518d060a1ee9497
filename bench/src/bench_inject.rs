//! Benchmarks for gpuops-inject (issue 2's performance targets). Prints
//! numbers; run with `scripts/bench.sh inject`.
//!
//! 1. A 10,000-object (~10 MB) ResourceList through the release binary:
//!    wall time and peak RSS (target < 0.2 s, < 200 MB). With a peer binary
//!    (`bench-inject OURS ROUNDS resource-list PEER`, e.g. the function built
//!    from an older commit in its own worktree and target dir), the two run
//!    alternately on the same input and print side by side: median and
//!    spread of wall and CPU time, and the median of the per-round ratios.
//! 2. `kubectl kustomize --enable-alpha-plugins` on 2,000 Deployments, side
//!    by side: a pass-through legacy plugin (`exec cat`), gpuops-inject as a
//!    legacy plugin (ModelTags, then GpuProfile), and kustomize's builtin
//!    `images:` (target: gpuops-inject <= 1.1x the pass-through).
#![allow(unsafe_code)] // getrusage for the children's peak RSS
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let binary = args.first().map_or_else(|| PathBuf::from("target/release/gpuops-inject"), PathBuf::from);
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let which = args.get(2).map_or("all", String::as_str);
    let peer = args.get(3).map(PathBuf::from);
    assert!(binary.exists(), "{} missing: cargo build --release -p gpuops-inject-function", binary.display());
    if which == "all" || which == "resource-list" {
        match &peer {
            Some(peer) => resource_list_against(&binary, peer, rounds),
            None => resource_list_bench(&binary, rounds),
        }
    }
    if which == "all" || which == "kustomize" {
        kustomize_bench(&binary, rounds.min(3));
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn children_peak_rss_mib() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we own; RUSAGE_CHILDREN is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    usage.ru_maxrss as f64 / 1024.0
}

/// A mixed ResourceList of `count` objects.
fn resource_list(count: usize) -> String {
    let mut out = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for i in 0..count {
        let annotations = format!(
            "    annotations:\n      internal.config.kubernetes.io/path: apps/app-{i}.yaml\n      internal.config.kubernetes.io/index: '0'\n      config.kubernetes.io/path: apps/app-{i}.yaml\n      description: \"object number {i}, padded so the list weighs about one kilobyte per object\"\n      team.example.com/runbook: \"https://runbooks.example.com/llm-serving/object-{i}#on-call-procedures-and-escalation-paths-for-gpu-inference-services-in-production-clusters-{i}\"\n      team.example.com/owner: \"platform-engineering-gpu-serving-team-{i}@example.com\"\n"
        );
        match i % 5 {
            0 | 1 => write!(
                out,
                "- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: llm-{i}\n    namespace: team-{}\n    labels: {{app: llm-{i}, tier: gpu}}\n{annotations}  spec:\n    replicas: 2\n    selector:\n      matchLabels: {{app: llm-{i}}}\n    template:\n      metadata:\n        labels: {{app: llm-{i}}}\n      spec:\n        containers:\n        - name: vllm\n          image: registry.example.com:5000/models/qwen:v1.0.{}\n          args: [--model=/models/qwen, --max-model-len=8192, --tensor-parallel-size=1]\n          ports: [{{containerPort: 8000}}]\n          resources:\n            requests: {{cpu: '4', memory: 16Gi}}\n        - name: proxy\n          image: envoyproxy/envoy:v1.31.0\n",
                i % 20,
                i % 7
            ),
            2 => write!(
                out,
                "- apiVersion: serving.kserve.io/v1beta1\n  kind: InferenceService\n  metadata:\n    name: isvc-{i}\n{annotations}  spec:\n    predictor:\n      minReplicas: 1\n      model:\n        modelFormat: {{name: vLLM}}\n        runtime: vllm\n        storageUri: oci://registry.example.com:5000/models/qwen:v1.0.0\n        args: [--max-model-len=4096]\n"
            ),
            3 => write!(
                out,
                "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cfg-{i}\n{annotations}  data:\n    settings.yaml: |\n      model: registry.example.com:5000/models/qwen:v1.0.0\n      batch: 16\n      timeout: 30s\n    version: '1.10'\n"
            ),
            _ => write!(
                out,
                "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: svc-{i}\n{annotations}  spec:\n    selector: {{app: llm-{i}}}\n    ports:\n    - {{name: http, port: 80, targetPort: 8000}}\n"
            ),
        }
        .expect("write to String");
    }
    out
}

const GPU_CONFIG: &str = "functionConfig:\n  apiVersion: gpuops.dev/v1alpha1\n  kind: GpuProfile\n  metadata: {name: bench}\n  spec:\n    gpu: {count: 2, product: NVIDIA-H100-80GB-HBM3}\n    sharedMemory: 16Gi\n    strategy: auto\n";
const TAGS_CONFIG: &str = "functionConfig:\n  apiVersion: gpuops.dev/v1alpha1\n  kind: ModelTags\n  metadata: {name: bench}\n  spec:\n    models:\n    - {name: registry.example.com:5000/models/qwen, newTag: v2.0.0}\n";

fn resource_list_bench(binary: &Path, rounds: usize) {
    let items = resource_list(10_000);
    for (label, config) in [("GpuProfile", GPU_CONFIG), ("ModelTags", TAGS_CONFIG)] {
        let input = format!("{items}{config}");
        let mut samples = Vec::new();
        let mut output_len = 0;
        for _ in 0..rounds {
            let start = Instant::now();
            let mut child = Command::new(binary)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn gpuops-inject");
            let mut stdin = child.stdin.take().expect("stdin");
            let feed = input.clone();
            let writer = std::thread::spawn(move || stdin.write_all(feed.as_bytes()));
            let out = child.wait_with_output().expect("wait");
            writer.join().expect("join").expect("write stdin");
            samples.push(start.elapsed());
            assert!(out.status.success(), "gpuops-inject failed");
            output_len = out.stdout.len();
        }
        println!(
            "resource-list {label:<10} 10000 objects, {:.1} MB in, {:.1} MB out: median {:>4} ms over {rounds} runs (target < 200 ms)",
            input.len() as f64 / 1e6,
            output_len as f64 / 1e6,
            median(samples).as_millis()
        );
    }
    println!("resource-list peak RSS of any run: {:.0} MiB (target < 200 MiB)", children_peak_rss_mib());
}

/// CPU time (user + system) of the children waited for so far.
fn children_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we own; RUSAGE_CHILDREN is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// One run of `binary` on `input`: (wall, CPU, output bytes).
fn run_once(binary: &Path, input: &str) -> (Duration, Duration, usize) {
    let cpu_before = children_cpu();
    let start = Instant::now();
    let mut child = Command::new(binary)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gpuops-inject");
    let mut stdin = child.stdin.take().expect("stdin");
    let feed = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(feed.as_bytes()));
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("join").expect("write stdin");
    let wall = start.elapsed();
    assert!(out.status.success(), "{} failed", binary.display());
    (wall, children_cpu() - cpu_before, out.stdout.len())
}

/// `min / median / max` in milliseconds.
fn spread(samples: &[Duration]) -> String {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    format!("{:>5.0} ms (min {:.0}, max {:.0})", ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
}

/// The 10,000-object ResourceList through `ours` and `peer` alternately.
fn resource_list_against(ours: &Path, peer: &Path, rounds: usize) {
    assert!(peer.exists(), "{} missing", peer.display());
    let items = resource_list(10_000);
    println!("resource-list, 10000 objects, {rounds} alternating rounds (peer {})", peer.display());
    for (label, config) in [("GpuProfile", GPU_CONFIG), ("ModelTags", TAGS_CONFIG)] {
        let input = format!("{items}{config}");
        let (mut walls, mut cpus) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
        let mut ratios = Vec::new();
        for round in 0..rounds {
            // Alternate which goes first, so drift hits both alike.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            let mut wall = [Duration::ZERO; 2];
            for who in order {
                let (w, c, _) = run_once(if who == 0 { peer } else { ours }, &input);
                wall[who] = w;
                walls[who].push(w);
                cpus[who].push(c);
            }
            ratios.push(wall[1].as_secs_f64() / wall[0].as_secs_f64());
        }
        ratios.sort_by(f64::total_cmp);
        for (who, name) in [(0, "peer"), (1, "ours")] {
            println!("  {label:<10} {name}: wall {}  cpu {}", spread(&walls[who]), spread(&cpus[who]));
        }
        println!("  {label:<10} ours / peer, median of per-round wall ratios: {:.2}x", ratios[ratios.len() / 2]);
    }
}

fn kustomize_bench(binary: &Path, rounds: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let mut deployments = String::new();
    for i in 0..2000 {
        write!(
            deployments,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llm-{i}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: llm-{i}}}\n  template:\n    metadata:\n      labels: {{app: llm-{i}}}\n    spec:\n      containers:\n      - name: vllm\n        image: registry.example.com:5000/models/qwen:v1.0.0\n        args: [--model=/models/qwen]\n"
        )
        .expect("write");
    }
    let plugin_home = root.join("xdg/kustomize/plugin");
    let status = Command::new(binary)
        .args(["install-plugin", "--dir"])
        .arg(&plugin_home)
        .stdout(Stdio::null())
        .status()
        .expect("install");
    assert!(status.success());
    let passthrough = plugin_home.join("bench.gpuops.dev/v1/passthrough");
    std::fs::create_dir_all(&passthrough).expect("mkdir");
    let script = passthrough.join("Passthrough");
    std::fs::write(&script, "#!/bin/sh\nexec cat\n").expect("write plugin");
    let tee_dir = plugin_home.join("bench.gpuops.dev/v1/tee");
    std::fs::create_dir_all(&tee_dir).expect("mkdir");
    let captured = root.join("stream.yaml");
    std::fs::write(tee_dir.join("Tee"), format!("#!/bin/sh\nexec tee {}\n", captured.display())).expect("write plugin");
    for plugin in [script, tee_dir.join("Tee")] {
        Command::new("chmod").arg("755").arg(plugin).status().expect("chmod");
    }

    let variants: [(&str, &str, &str); 5] = [
        ("plain kustomize", "", ""),
        ("builtin images:", "images:\n- name: registry.example.com:5000/models/qwen\n  newTag: v2.0.0\n", ""),
        (
            "pass-through plugin (exec cat)",
            "transformers:\n- plugin.yaml\n",
            "apiVersion: bench.gpuops.dev/v1\nkind: Passthrough\nmetadata: {name: cat}\n",
        ),
        (
            "gpuops-inject ModelTags",
            "transformers:\n- plugin.yaml\n",
            "apiVersion: gpuops.dev/v1alpha1\nkind: ModelTags\nmetadata: {name: tags}\nspec:\n  models:\n  - {name: registry.example.com:5000/models/qwen, newTag: v2.0.0}\n",
        ),
        (
            "gpuops-inject GpuProfile",
            "transformers:\n- plugin.yaml\n",
            "apiVersion: gpuops.dev/v1alpha1\nkind: GpuProfile\nmetadata: {name: gpus}\nspec:\n  gpu: {count: 1}\n  strategy: auto\n",
        ),
    ];
    let mut dirs = Vec::new();
    for (i, (_, kustomization, plugin)) in variants.iter().enumerate() {
        let d = root.join(format!("v{i}"));
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("deployments.yaml"), &deployments).expect("write");
        std::fs::write(d.join("kustomization.yaml"), format!("resources:\n- deployments.yaml\n{kustomization}"))
            .expect("write");
        if !plugin.is_empty() {
            std::fs::write(d.join("plugin.yaml"), plugin).expect("write");
        }
        dirs.push(d);
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    // Interleave the variants so machine noise hits all of them alike.
    for _ in 0..rounds {
        for (i, d) in dirs.iter().enumerate() {
            let start = Instant::now();
            let out = Command::new("kubectl")
                .env("XDG_CONFIG_HOME", root.join("xdg"))
                .args(["kustomize", "--enable-alpha-plugins"])
                .arg(d)
                .output()
                .expect("kubectl");
            samples[i].push(start.elapsed());
            assert!(out.status.success(), "{}: {}", variants[i].0, String::from_utf8_lossy(&out.stderr));
        }
    }
    let medians: Vec<Duration> = samples.into_iter().map(median).collect();
    let passthrough = medians[2].as_secs_f64();
    println!("kustomize, 2000 Deployments, median of {rounds} interleaved runs:");
    for ((label, _, _), m) in variants.iter().zip(&medians) {
        println!("  {label:<32} {:>6.2} s  {:.2}x pass-through", m.as_secs_f64(), m.as_secs_f64() / passthrough);
    }
    // The ratio above carries kustomize's own run-to-run noise; time the
    // plugin alone on the exact stream kustomize hands it.
    let capture = root.join("capture");
    std::fs::create_dir_all(&capture).expect("mkdir");
    std::fs::write(capture.join("deployments.yaml"), &deployments).expect("write");
    std::fs::write(capture.join("kustomization.yaml"), "resources:\n- deployments.yaml\ntransformers:\n- tee.yaml\n")
        .expect("write");
    std::fs::write(capture.join("tee.yaml"), "apiVersion: bench.gpuops.dev/v1\nkind: Tee\nmetadata: {name: tee}\n")
        .expect("write");
    let out = Command::new("kubectl")
        .env("XDG_CONFIG_HOME", root.join("xdg"))
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(&capture)
        .output()
        .expect("kubectl");
    assert!(out.status.success(), "capture: {}", String::from_utf8_lossy(&out.stderr));
    let stream = std::fs::read(&captured).expect("captured stream");
    for (i, label) in [(3, "ModelTags"), (4, "GpuProfile")] {
        let config = dirs[i].join("plugin.yaml");
        let mut times = Vec::new();
        for _ in 0..rounds.max(5) {
            let start = Instant::now();
            let mut child = Command::new(binary)
                .arg(&config)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            child.stdin.take().expect("stdin").write_all(&stream).expect("write");
            assert!(child.wait().expect("wait").success());
            times.push(start.elapsed());
        }
        let own = median(times).as_secs_f64();
        println!(
            "  gpuops-inject {label} alone on the {:.1} MB stream: {:.0} ms = {:.1}% of the pass-through build",
            stream.len() as f64 / 1e6,
            own * 1000.0,
            own / passthrough * 100.0
        );
    }
}
