//! Issue 20, deliverables 4 and 5 through `kubectl gpufit check`: an
//! assumed vLLM version is a warning of the workload (table and JSON), and
//! the second vLLM on one time-sliced GPU is refused in vLLM's words; and
//! through `kubectl gpufit model --gpu-memory-in-use`, what each vLLM band
//! does beside memory other processes hold.

use serde_json::Value;

use crate::util::{gpufit, gpufit_with_stdin, repo_root, text};

const ASSUMED: &str = "vLLM version unknown: assumed 0.34.0";

/// A node with one physical H100 that the device plugin time-slices four
/// ways, as GPU Feature Discovery labels it.
const NODE: &str = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: gpu-0
    labels:
      nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
      nvidia.com/gpu.count: '1'
      nvidia.com/gpu.replicas: '4'
      nvidia.com/gpu.sharing-strategy: time-slicing
  status:
    allocatable: {cpu: '64', memory: 512Gi, pods: '110', nvidia.com/gpu: '4'}
";

fn deployment(name: &str, image: &str, annotations: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: ml
  annotations: {{{annotations}}}
spec:
  strategy: {{type: Recreate}}
  template:
    spec:
      containers:
      - name: vllm
        image: {image}
        args: [--model, meta-llama/Llama-3.1-8B-Instruct, --max-model-len, '8192']
        resources: {{limits: {{nvidia.com/gpu: 1}}}}
"
    )
}

/// `gpufit check -f - --cluster-file NODE [extra]` on `manifests`.
fn check(manifests: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster.yaml");
    std::fs::write(&cluster, NODE).unwrap();
    let mut args = vec!["check", "-f", "-", "--cluster-file", cluster.to_str().unwrap()];
    args.extend(extra);
    gpufit_with_stdin(&args, manifests)
}

fn json(manifests: &str) -> Value {
    let out = check(manifests, &["-o", "json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)))
}

/// `:latest` and no `gpuops.dev/vllm-version`: the verdict ("fits") was
/// computed at an assumed release, and `check` says so under the table and
/// in `memory.notes`; a versioned tag or the annotation says nothing.
#[test]
fn check_says_when_the_vllm_version_is_assumed() {
    let latest = deployment("a", "vllm/vllm-openai:latest", "");
    let out = check(&latest, &[]);
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(table.contains(&format!("Deployment/ml/a:\n  warning: {ASSUMED}\n")), "{table}");
    let doc = json(&latest);
    assert_eq!(doc["workloads"][0]["memory"]["notes"], serde_json::json!([ASSUMED]), "{doc}");

    for known in [
        deployment("a", "vllm/vllm-openai:v0.11.0", ""),
        deployment("a", "vllm/vllm-openai:latest", "gpuops.dev/vllm-version: '0.11.0'"),
    ] {
        let out = check(&known, &[]);
        assert!(!text(&out.stdout).contains("vLLM version unknown"), "{}", text(&out.stdout));
        assert!(json(&known)["workloads"][0]["memory"].get("notes").is_none());
    }
}

/// Two vLLM Deployments at the default utilization land on the one
/// physical GPU: the second is refused by vLLM's startup check, in its
/// words (exit 1), and the table says why in its memory column.
#[test]
fn the_second_vllm_on_a_time_sliced_gpu_is_refused() {
    let image = "vllm/vllm-openai:v0.11.0";
    let both = format!("{}---\n{}", deployment("a", image, ""), deployment("b", image, ""));
    let out = check(&both, &[]);
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}");
    let row =
        |name: &str| table.lines().find(|l| l.starts_with(&format!("Deployment/ml/{name} "))).unwrap().to_string();
    assert!(row("a").contains("ok: ") && row("a").ends_with("fits"), "{table}");
    assert!(row("b").contains("no: GPU memory in use") && row("b").ends_with("does not fit"), "{table}");
    assert!(
        table.contains("Deployment/ml/b:\n  memory: Free memory on device (")
            && table.contains("on startup is less than desired GPU memory utilization (0.9, "),
        "{table}"
    );
    assert!(
        table.contains("  warning: time-sliced: starts on node gpu-0's one physical GPU after Deployment/ml/a"),
        "{table}"
    );
    let doc = json(&both);
    assert_eq!(doc["workloads"][1]["memory"]["status"], "does-not-fit", "{doc}");
    let message = doc["workloads"][1]["memory"]["message"].as_str().unwrap();
    assert!(message.starts_with("Free memory on device ("), "{message}");
}

/// `gpufit model --gpu-memory-in-use 20GiB`: the same pod beside 20 GiB
/// another process holds on an H100, at one release per band
/// (`VllmVersion::co_tenant`): V0 0.7.3 sizes its cache as on an empty GPU
/// and runs out allocating it (exit 1); V1 0.8.5 takes the 20 GiB out of
/// its KV cache and starts (exit 0); V1 0.11.0 refuses at startup (exit 1).
/// A reviewed snapshot of the three tables; the JSON carries the input.
#[test]
fn model_sizes_a_pod_beside_memory_other_processes_hold() {
    let base = ["model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "H100", "--max-model-len", "8192"];
    let mut all = String::new();
    for (release, code) in [("0.7.3", 1), ("0.8.5", 0), ("0.11.0", 1)] {
        let args = [&base[..], &["--engine", release, "--gpu-memory-in-use", "20GiB"]].concat();
        let out = gpufit(&args);
        assert_eq!(out.status.code(), Some(code), "{release}: {}{}", text(&out.stdout), text(&out.stderr));
        all.push_str(&gpuops_testkit::snapshot::entry(&format!("kubectl-gpufit {}", args.join(" ")), &out));
    }
    gpuops_testkit::assert_reviewed!(
        repo_root().join("plugins/kubectl-gpufit/tests/integration/snapshots"),
        "gpufit-model-gpu-memory-in-use",
        all
    );

    let document = |extra: &[&str]| -> Value {
        let out = gpufit(&[&base[..], &["--engine", "0.8.5", "-o", "json"], extra].concat());
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)))
    };
    let (alone, shared) = (document(&[]), document(&["--gpu-memory-in-use", "20480MiB"]));
    assert_eq!(
        (&shared["gpuMemoryInUseGib"], &shared["coTenant"]),
        (&serde_json::json!(20.0), &serde_json::json!("subtracted"))
    );
    assert!(alone.get("gpuMemoryInUseGib").is_none() && alone.get("coTenant").is_none(), "{alone}");
    let kv = |d: &Value| d["kvBudgetGib"].as_f64().unwrap();
    assert!((kv(&alone) - kv(&shared) - 20.0).abs() < 1e-6, "{alone}\n{shared}");

    let out = gpufit(&[&base[..], &["--gpu-memory-in-use", "lots"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: --gpu-memory-in-use \"lots\" is not a size (20GiB, 20Gi, 8192MiB)\n");
}
