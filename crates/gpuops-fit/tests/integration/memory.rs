//! The memory verdict of `check` against what one pod really gets of a
//! GPU, the same figure `gpufit model` uses: a MIG slice under the device
//! plugin's mixed strategy, an MPS share, the whole GPU otherwise.

use gpuops_fit::report::{CheckOptions, MemoryStatus, Report, WorkloadStatus, check, model_requests};
use gpuops_model::catalog::{GpuInfo, gpu_product, mig_slice};
use gpuops_model::resolve::Resolver;
use gpuops_schedule::cluster::{Cluster, from_dump};
use serde_json::{Value, json};

/// One node as `kubectl get node -o json` shows it.
fn node(labels: Value, allocatable: Value) -> Cluster {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-0", "labels": labels},
            "status": {"allocatable": allocatable}}]});
    from_dump(list.to_string().as_bytes(), "cluster.json").unwrap()
}

fn vllm(model: &str, resource: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "llm", "namespace": "ml"},
        "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": [{"name": "vllm",
            "image": "vllm/vllm-openai:v0.8.5", "args": ["--model", model, "--max-model-len", "8192"],
            "resources": {"limits": {resource: 1}}}]}}}})
}

/// One H100 node under the mixed MIG strategy (the product label is the
/// whole GPU's) offering `count` of the MIG `resource`.
fn h100_mixed_mig(resource: &str, count: &str) -> Cluster {
    node(
        json!({"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/mig.strategy": "mixed"}),
        json!({"cpu": "64", "memory": "512Gi", "pods": "110", resource: count}),
    )
}

fn run(cluster: &Cluster, workload: Value) -> Report {
    let objects = [workload];
    let models = Resolver::catalog().resolve_all(&model_requests(&objects));
    check(cluster, &objects, CheckOptions { models, ..CheckOptions::default() }).unwrap()
}

/// A 32B AWQ model asks for one `nvidia.com/mig-1g.10gb` on an H100 node
/// (mixed strategy: the node's product label is the whole GPU's). The pod
/// gets a 10 GB slice, and the weights alone are bigger: before, `check`
/// sized it against the whole 80 GB and said it fits.
#[test]
fn a_mig_slice_is_sized_as_the_slice_as_model_mig_does() {
    let cluster = h100_mixed_mig("nvidia.com/mig-1g.10gb", "7");
    let report = run(&cluster, vllm("Qwen/Qwen2.5-32B-Instruct-AWQ", "nvidia.com/mig-1g.10gb"));
    let memory = report.workloads[0].memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::DoesNotFit, "{memory:?}");
    let fit = memory.fit.as_ref().unwrap();
    // Exactly the GPU `gpufit model --gpu H100-80GB --mig 1g.10gb` sizes against.
    let slice = mig_slice(&GpuInfo::from(gpu_product("H100-80GB").unwrap()), "1g.10gb").unwrap();
    assert_eq!((fit.gpu.as_str(), fit.gpu_memory_gib), (slice.label.as_str(), slice.total_gib));
    assert!(!report.fits);
}

/// The device plugin's MPS sharing gives each of 4 replicas a quarter of
/// an L4: a 7B model in 16-bit does not fit there, though it fits the
/// whole L4 (time-slicing: no memory limit per replica).
#[test]
fn an_mps_share_is_a_part_of_the_gpu_time_slicing_is_all_of_it() {
    let labels = |strategy: &str| {
        json!({"nvidia.com/gpu.product": "NVIDIA-L4", "nvidia.com/gpu.replicas": "4",
            "nvidia.com/gpu.sharing-strategy": strategy})
    };
    let allocatable = json!({"cpu": "32", "memory": "128Gi", "pods": "110", "nvidia.com/gpu": "4"});
    let shared = run(&node(labels("mps"), allocatable.clone()), vllm("Qwen/Qwen2.5-7B-Instruct", "nvidia.com/gpu"));
    let memory = shared.workloads[0].memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::DoesNotFit, "{memory:?}");
    let whole = GpuInfo::from(gpu_product("L4").unwrap()).total_gib;
    assert!((memory.fit.as_ref().unwrap().gpu_memory_gib - whole / 4.0).abs() < 1e-9);
    let sliced = run(&node(labels("time-slicing"), allocatable), vllm("Qwen/Qwen2.5-7B-Instruct", "nvidia.com/gpu"));
    let memory = sliced.workloads[0].memory.as_ref().unwrap();
    assert_eq!((memory.status, memory.fit.as_ref().unwrap().gpu_memory_gib), (MemoryStatus::Fits, whole));
}

/// A MIG resource whose profile the catalog cannot size is unchecked, not
/// sized as the whole GPU.
#[test]
fn an_unknown_mig_profile_is_unchecked() {
    let cluster = h100_mixed_mig("nvidia.com/mig-7g.custom", "1");
    let report = run(&cluster, vllm("Qwen/Qwen2.5-7B-Instruct", "nvidia.com/mig-7g.custom"));
    let memory = report.workloads[0].memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::UnknownGpu, "{memory:?}");
    assert!(memory.fit.is_none());
    assert!(memory.message.as_deref().unwrap().contains("the MIG profile 7g.custom is not one gpuops can size"));
}

/// Llama 3.2 11B Vision (Mllama, encoder-decoder) in vLLM 0.8.5 on an
/// H100 and on an L4: gpuops cannot size its profile run
/// (`MemoryFit::not_sized`), so on the H100 the workload is placed with its
/// memory unchecked — not "fits" — and the explanation says why and what to
/// read from vLLM instead. On the L4 the figures without the encoder's
/// profile already do not fit (19.67 GiB of weights, 19.85 usable): that
/// refusal is certain whatever the encoder takes, and says it is a lower
/// bound.
#[test]
fn an_encoder_decoder_model_is_placed_with_its_memory_unchecked() {
    let cluster = |product: &str| {
        node(
            json!({"nvidia.com/gpu.product": product}),
            json!({"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": "1"}),
        )
    };
    let model = || vllm("meta-llama/Llama-3.2-11B-Vision-Instruct", "nvidia.com/gpu");
    let report = run(&cluster("NVIDIA-H100-80GB-HBM3"), model());
    let workload = &report.workloads[0];
    let memory = workload.memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::NotSized, "{memory:?}");
    let message = memory.message.as_deref().unwrap();
    assert!(message.starts_with("not sized by gpuops: meta-llama/Llama-3.2-11B-Vision-Instruct"), "{message}");
    assert_eq!(memory.smallest_tp, None, "no TP proposed for a model that is not sized");
    assert_eq!(workload.status(), WorkloadStatus::MemoryUnchecked);
    assert_eq!(workload.status().as_str(), "placed, memory unchecked");
    assert!(workload.problems.is_empty(), "{:?}", workload.problems);
    assert!(report.fits && report.unchecked(), "unchecked, as the exit code reports it");
    let explained = report.explain();
    assert!(explained.contains(&format!("  memory unchecked: {message}")), "{explained}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json.pointer("/workloads/0/memory/status"), Some(&json!("not-sized")));

    let report = run(&cluster("NVIDIA-L4"), model());
    let memory = report.workloads[0].memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::DoesNotFit, "{memory:?}");
    assert!(memory.message.as_deref().unwrap().starts_with("No available memory for the cache blocks"), "{memory:?}");
    assert!(
        memory
            .notes
            .iter()
            .any(|n| n.starts_with("lower bound: meta-llama/Llama-3.2-11B-Vision-Instruct is an encoder-decoder"))
    );
    assert!(!report.fits);
}
