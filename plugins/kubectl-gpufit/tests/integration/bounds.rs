//! Bounded work against hostile inputs: a live list whose continue chain
//! never ends (or whose pages are huge) stops at the object/byte cap, and a
//! placement of `replicas × nodes` past the budget is an error, never an
//! abort or a verdict.

use std::time::{Duration, Instant};

use gpuops_testkit::{ApiServer, Misbehave};
use serde_json::{Value, json};

use crate::util::{gpufit, text};

/// What a bounded run of `kubectl-gpufit` ended with.
struct Measured {
    code: Option<i32>,
    stderr: String,
    elapsed: Duration,
    /// Peak resident memory (the kernel's VmHWM), KiB.
    peak_kib: u64,
}

/// `kubectl-gpufit ARGS`, killed after `limit` (so a run that would never
/// stop fails here instead of hanging the suite), its peak memory read from
/// /proc/PID/status `VmHWM` (a high-water mark) every 10 ms while it runs.
fn gpufit_measured(args: &[&str], limit: Duration) -> Measured {
    use std::io::Read as _;
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-gpufit"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak_kib = 0;
    let code = loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Measured { code, stderr: stderr.join().unwrap(), elapsed: started.elapsed(), peak_kib }
}

fn node(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
        "spec": {}, "status": {"allocatable": {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": "8"}}})
}

/// A server whose node list never ends, each page full (500 nodes) with a
/// new continue token (before: followed for 10,000 pages, 5 million nodes,
/// until memory ran out): stopped past --max-objects with the list named,
/// the count and the cap; --max-objects raises the cap. Measured (debug
/// build, 2 cores): 20,000 in 1.3 s at 56 MiB peak, 60,000 in 2.1 s at
/// 103 MiB, the default 300,000 in 7.3 s at 403 MiB.
#[test]
fn an_endless_chain_of_full_pages_stops_at_the_object_cap() {
    let server = ApiServer::start_misbehaving(&[node("gpu")], &[], &[], "v1.35.0", Misbehave::EndlessFullPages);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("lab", &server.url())]);
    let run = |extra: &[&str]| {
        let mut args = vec!["nodes", "--kubeconfig", kubeconfig.to_str().unwrap()];
        args.extend_from_slice(extra);
        gpufit_measured(&args, Duration::from_secs(120))
    };
    let nodes = format!("{}/api/v1/nodes", server.url());
    for (cap, objects, pages) in [(20_000, 20_500, 41), (60_000, 60_500, 121)] {
        let out = run(&["--max-objects", &cap.to_string()]);
        assert_eq!(out.code, Some(2), "{:?} {}", out.elapsed, out.stderr);
        assert_eq!(
            out.stderr.trim_end(),
            format!(
                "error: {nodes}: more than {cap} objects in one list ({objects} read in {pages} pages); stopping (raise --max-objects to read further)"
            )
        );
        assert!(out.peak_kib < 256 << 10, "memory stays bounded: {} KiB", out.peak_kib);
    }
    // The default: 300,000 objects, twice the pods of Kubernetes' largest tested cluster.
    let out = run(&[]);
    assert_eq!(out.code, Some(2), "{:?} {}", out.elapsed, out.stderr);
    assert!(out.stderr.contains(": more than 300000 objects in one list (300500 read in 601 pages)"), "{}", out.stderr);
    assert!(out.peak_kib < 1 << 20, "under 1 GiB at the default cap: {} KiB", out.peak_kib);
}

/// A node list that is one page without end (a server ignoring `limit`;
/// before: collected whole until memory ran out or --request-timeout
/// fired): stopped at 8 KiB per object of --max-objects, in bytes
/// (measured: 32 MB in 1.4 s at 90 MiB peak).
#[test]
fn one_endless_page_stops_at_the_byte_cap() {
    let server = ApiServer::start_misbehaving(&[node("gpu")], &[], &[], "v1.35.0", Misbehave::EndlessPage);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("lab", &server.url())]);
    let args =
        ["nodes", "--kubeconfig", kubeconfig.to_str().unwrap(), "--max-objects", "4000", "--request-timeout", "0"];
    let out = gpufit_measured(&args, Duration::from_secs(60));
    assert_eq!(out.code, Some(2), "{:?} {}", out.elapsed, out.stderr);
    let prefix = format!("error: {}/api/v1/nodes: more than 32768000 bytes in one list (", server.url());
    let suffix =
        " read in 1 pages; 8 KiB per object of --max-objects 4000); stopping (raise --max-objects to read further)";
    let stderr = out.stderr.trim_end();
    assert!(stderr.starts_with(&prefix) && stderr.ends_with(suffix), "{stderr}");
    assert!(out.peak_kib < 256 << 10, "memory stays bounded: {} KiB", out.peak_kib);

    // At the default --max-objects the list may bring 2.3 GiB, but no one
    // page more than 128 KiB per item it may hold.
    let args = ["nodes", "--kubeconfig", kubeconfig.to_str().unwrap(), "--chunk-size", "100"];
    let out = gpufit_measured(&args, Duration::from_secs(60));
    assert_eq!(out.code, Some(2), "{:?} {}", out.elapsed, out.stderr);
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "error: {}/api/v1/nodes: page 1 has more than 13107200 bytes (128 KiB per item of --chunk-size 100); stopping",
            server.url()
        )
    );
    assert!(out.peak_kib < 256 << 10, "memory stays bounded: {} KiB", out.peak_kib);
}

/// The same cap holds for a dump given with --cluster-file.
#[test]
fn a_cluster_dump_past_the_object_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dump = nodes_dump(dir.path(), 20, "110");
    let out = gpufit(&["nodes", "--cluster-file", dump.to_str().unwrap(), "--max-objects", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!(
            "error: {}: more than 10 objects in a cluster dump (20); stopping (raise --max-objects to read further)",
            dump.display()
        )
    );
    let out = gpufit(&["nodes", "--cluster-file", dump.to_str().unwrap(), "--max-objects", "20"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Nodes as `kubectl get nodes -o json` lists them, each allowing `pods` pods.
fn nodes_dump(dir: &std::path::Path, count: usize, pods: &str) -> std::path::PathBuf {
    let items: Vec<Value> = (0..count)
        .map(|i| {
            json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": format!("gpu-{i}"), "labels": {"kubernetes.io/hostname": format!("gpu-{i}")}},
                "spec": {}, "status": {"allocatable": {"cpu": "1e9", "memory": "1Ti", "pods": pods, "nvidia.com/gpu": "8"}}})
        })
        .collect();
    let path = dir.join("cluster.json");
    std::fs::write(&path, json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()).unwrap();
    path
}

/// `replicas: 1000000000` against nodes that allow 1e9 pods each (before:
/// a billion placements kept in memory, until the process was killed or
/// aborted): an error exit at once, naming both numbers and the budget.
#[test]
fn a_billion_replicas_are_too_large_to_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("big.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: big, namespace: ml}\nspec:\n  replicas: 1000000000\n  strategy: {type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: c\n        image: busybox\n        resources: {requests: {cpu: 1m}}\n",
    )
    .unwrap();
    for nodes in [2, 800] {
        let cluster = nodes_dump(dir.path(), nodes, "1e9");
        let started = Instant::now();
        let out = gpufit(&["check", "-f", manifest.to_str().unwrap(), "--cluster-file", cluster.to_str().unwrap()]);
        let elapsed = started.elapsed();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "an error, not a verdict: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "error: too large to simulate: 1000000000 replicas × {nodes} nodes exceeds the budget of 10000000 node checks and 1000000 replicas (Deployment/ml/big asks for the most, 1000000000); lower its replicas or check fewer nodes (-l)"
            )
        );
        assert_eq!(text(&out.stdout), "", "no report, so nothing says it fits");
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }
}
