//! `check`'s memory verdict at the edge of vLLM's limits
//! (`MemoryFit::edge`): a "fits" decided by a margin inside the model's own
//! error stays "fits" (the workload and the exit code do not change) but
//! is said, as a warning under the table and in the notes the Argo CD gate
//! turns into `gpuops.dev/warnings`. Qwen2.5-7B on an RTX 3090 at vLLM
//! 0.17.1 with 8,192 tokens: vLLM both started and refused it at 0.65.

use gpuops_fit::report::{CheckOptions, MemoryStatus, Report, check, model_requests};
use gpuops_model::resolve::Resolver;
use gpuops_schedule::cluster::{Cluster, from_dump};
use serde_json::{Value, json};

fn rtx_3090() -> Cluster {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-0",
            "labels": {"nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-3090"}},
            "status": {"allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110", "nvidia.com/gpu": "1"}}}]});
    from_dump(list.to_string().as_bytes(), "cluster.json").unwrap()
}

fn at(utilization: &str) -> Report {
    let workload = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "llm", "namespace": "ml"},
        "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": [{"name": "vllm",
            "image": "vllm/vllm-openai:v0.17.1",
            "args": ["--model", "Qwen/Qwen2.5-7B-Instruct", "--max-model-len", "8192",
                "--gpu-memory-utilization", utilization],
            "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}});
    let objects: [Value; 1] = [workload];
    let models = Resolver::catalog().resolve_all(&model_requests(&objects));
    check(&rtx_3090(), &objects, CheckOptions { models, ..CheckOptions::default() }).unwrap()
}

#[test]
fn a_fit_inside_the_models_error_fits_with_a_warning() {
    let report = at("0.66");
    let w = &report.workloads[0];
    let memory = w.memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::Fits, "{memory:?}");
    assert!(report.fits, "an edge does not change the verdict");
    let edge = memory.fit.as_ref().and_then(|f| f.edge).unwrap_or_else(|| panic!("no edge: {memory:?}"));
    assert!(edge.margin_gib > 0.0 && edge.margin_gib < edge.uncertainty_gib, "{edge:?}");
    let note = w.memory_notes().iter().find(|n| n.starts_with("fits, at the edge: ")).expect("the edge in the notes");
    assert!(note.contains("vLLM's KV-cache limit, one max_model_len request"), "{note}");
    assert!(report.explain().contains(&format!("  warning: {note}\n")), "{}", report.explain());
    // Past the model's error: a plain "fits", no warning.
    let plain = at("0.70");
    let memory = plain.workloads[0].memory.as_ref().unwrap();
    assert!(memory.fit.as_ref().unwrap().edge.is_none() && plain.workloads[0].memory_notes().is_empty(), "{memory:?}");
}
