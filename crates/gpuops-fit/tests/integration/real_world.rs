//! Public manifests nobody on the project wrote (tests/fixtures/real-world,
//! sources and licences in SOURCES.md), checked the way a new user would:
//! against synthetic pools of real GPU node shapes.

use std::path::PathBuf;

use gpuops_fit::pools::synthetic;
use gpuops_fit::report::{CheckOptions, Report, WorkloadReport, check, model_requests};
use gpuops_model::resolve::Resolver;

fn fixture(name: &str) -> Vec<serde_json::Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-world").join(name);
    gpuops_manifest::input::flatten_lists(gpuops_manifest::input::read_path(&path).expect("fixture"))
}

fn run(name: &str, nodes: &str) -> Report {
    let objects = fixture(name);
    let models = Resolver::catalog().resolve_all(&model_requests(&objects));
    check(&synthetic(nodes).unwrap(), &objects, CheckOptions { models, ..CheckOptions::default() }).unwrap()
}

fn workload<'a>(report: &'a Report, role: &str) -> &'a WorkloadReport {
    let shown = |w: &&WorkloadReport| w.role.as_ref().map(ToString::to_string).unwrap_or_default();
    report.workloads.iter().find(|w| shown(w) == role).unwrap_or_else(|| panic!("no role {role:?}: {report:#?}"))
}

#[test]
fn lws_vllm_405b_fits_four_h100_nodes_and_not_three() {
    // Two groups of leader + one worker, 8 GPUs, 125 cpu, 1124Gi and 800Gi
    // ephemeral-storage each: the synthetic H100 nodes must look like real
    // ones (cpu, memory, ephemeral-storage) or every node fails.
    let report = run("lws-vllm-gpu.yaml", "4*8xH100-80GB");
    assert!(report.fits, "{}", report.explain());
    assert_eq!((workload(&report, "leader").placed, workload(&report, "worker").placed), (2, 2));
    let report = run("lws-vllm-gpu.yaml", "3*8xH100-80GB");
    let worker = workload(&report, "worker");
    assert_eq!(worker.placed, 1);
    // Each node already holds one such pod: everything it asks for is short.
    let short = "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient ephemeral-storage, 3 Insufficient memory, 3 Insufficient nvidia.com/gpu.";
    assert_eq!(worker.message.as_deref(), Some(short));
    assert_eq!(
        worker.event.as_ref().map(|e| e.message.clone()),
        Some(format!(
            "{short} no new claims to deallocate, preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
        ))
    );
}

#[test]
fn kuberay_vllm_service_reads_the_serve_config_and_needs_a_second_cluster_to_upgrade() {
    // The head tolerates nothing: it needs the untainted T4 node; the GPU
    // worker tolerates the L4 pool's taint.
    let report = run("kuberay-ray-service-vllm.yaml", "1*2xL4[taint=nvidia.com/gpu=present:NoSchedule],1*1xT4");
    let worker = workload(&report, "worker group gpu-group");
    assert_eq!(worker.nodes, ["l4-0"]);
    let memory = worker.memory.as_ref().expect("the engine comes from serveConfigV2 runtime_env.env_vars");
    assert_eq!(memory.reference, "meta-llama/Meta-Llama-3-8B-Instruct");
    assert_eq!(workload(&report, "head").nodes, ["t4-0"]);
    // A zero-downtime upgrade brings up a second RayCluster: no room.
    let rollout = worker.rollout.as_ref().unwrap();
    assert!(!rollout.fits, "{rollout:?}");
    assert!(!report.fits);
}

#[test]
fn kai_fractional_gpus_and_dra_claims_are_said_not_counted_silently() {
    let report = run("kuberay-kai-gpu-sharing.yaml", "1*1xL4");
    let workers = workload(&report, "worker group shared-gpu");
    assert_eq!(workers.gpus_per_pod, 0);
    assert!(workers.warnings.iter().any(|w| w.contains("gpu-fraction: 0.5")), "{:?}", workers.warnings);
    assert!(report.explain().contains("warning: asks for a fractional GPU"), "{}", report.explain());

    let report = run("kserve-llmisvc-qwen2-7b-nvidia-dra.yaml", "1*1xL4");
    let main = &report.workloads[0];
    assert_eq!((main.replicas, main.gpus_per_pod), (3, 0));
    assert!(main.warnings[0].contains("DRA resourceClaim"), "{:?}", main.warnings);
}

#[test]
fn production_stack_vllm_runtime_is_a_deployment_of_its_resources() {
    let report = run("production-stack-vllmruntime.yaml", "2*1xL4");
    let w = &report.workloads[0];
    assert_eq!(w.workload.to_string(), "VLLMRuntime/vllmruntime-sample");
    assert_eq!((w.replicas, w.placed, w.gpus_per_pod), (2, 2, 1));
    assert!(w.rollout.is_none(), "deploymentStrategy: Recreate has no surge");
    let memory = w.memory.as_ref().unwrap();
    assert_eq!(memory.reference, "meta-llama/Llama-3.1-8B-Instruct");
    let fit = memory.fit.as_ref().expect("Llama-3.1-8B is in the catalog");
    assert_eq!(fit.max_model_len, 4096);
    // The operator's container (vllmruntime_controller.go
    // `deploymentForVLLMRuntime`): model.maxNumSeqs, enableLoRA with
    // vllmConfig.maxLoras, and LMCache's connector reach the check.
    assert_eq!((fit.max_num_seqs, fit.gpu_memory_utilization), (32, 0.8));
    let lora = fit.lora.expect("enableLoRA: true is --enable-lora");
    assert!(lora.stacks_gib > 0.3 && lora.stacks_gib < 0.4, "4 slots of rank 16: {lora:?}");
    assert!(
        fit.notes
            .iter()
            .any(|n| n.starts_with("KV connector LMCacheConnectorV1 (--kv-transfer-config) is not modelled")),
        "{:?}",
        fit.notes
    );
    let report = run("production-stack-vllmruntime.yaml", "1*1xL4");
    assert_eq!(report.workloads[0].message.as_deref(), Some("0/1 nodes are available: 1 Insufficient nvidia.com/gpu."));
}

#[test]
fn kserve_llm_inference_service_prefill_and_decode_need_rdma_devices() {
    // Each pod asks for an RDMA device (rdma/roce_gdr) that plain GPU nodes
    // do not offer: the scheduler says so, and no preemption can help.
    let report = run("kserve-llmisvc-pd-qwen2-7b-gpu.yaml", "2*8xH100-80GB");
    let decode = workload(&report, "decode");
    let prefill = workload(&report, "prefill");
    assert_eq!((decode.replicas, prefill.replicas), (1, 2));
    assert_eq!(decode.message.as_deref(), Some("0/2 nodes are available: 2 Insufficient rdma/roce_gdr."));
    assert!(
        decode
            .event
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap()
            .ends_with("2 Preemption is not helpful for scheduling.")
    );
    assert_eq!(decode.memory.as_ref().unwrap().reference, "hf://Qwen/Qwen2.5-7B-Instruct");
}
