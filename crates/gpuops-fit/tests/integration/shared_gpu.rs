//! Issue 20, deliverables 4 and 5 in `check`: what the memory verdict
//! assumed is said (an unknown vLLM version), and vLLM pods that land on
//! one time-sliced GPU see each other's memory at startup, through the
//! same `memory::evaluate` path `gpufit model` takes.

use gpuops_fit::report::{CheckOptions, MemoryStatus, Report, check, model_requests};
use gpuops_model::resolve::Resolver;
use gpuops_schedule::cluster::{Cluster, from_dump};
use serde_json::{Value, json};

const ASSUMED: &str = "vLLM version unknown: assumed 0.34.0";

/// One H100 node; `count` physical GPUs shared 4 ways by `strategy`, and
/// bound pods holding `bound` shares.
fn node(count: Option<u32>, strategy: &str, bound: u32) -> Cluster {
    let mut labels = json!({"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.replicas": "4",
        "nvidia.com/gpu.sharing-strategy": strategy});
    if let Some(count) = count {
        labels["nvidia.com/gpu.count"] = json!(count.to_string());
    }
    let shares = count.unwrap_or(1) * 4;
    let mut items = vec![json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-0", "labels": labels},
        "status": {"allocatable": {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": shares.to_string()}}})];
    if bound > 0 {
        items.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "running", "namespace": "other"},
            "spec": {"nodeName": "gpu-0", "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": bound}}}]},
            "status": {"phase": "Running"}}));
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    from_dump(list.to_string().as_bytes(), "cluster.json").unwrap()
}

/// A vLLM Deployment serving Llama 3.1 8B on one share.
fn vllm(name: &str, image: &str, replicas: u32, extra: &[&str]) -> Value {
    let mut args = vec!["--model", "meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "8192"];
    args.extend(extra);
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "ml"},
        "spec": {"replicas": replicas, "strategy": {"type": "Recreate"}, "template": {"spec": {"containers": [{"name": "vllm",
            "image": image, "args": args, "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}})
}

fn run(cluster: &Cluster, objects: &[Value]) -> Report {
    let models = Resolver::catalog().resolve_all(&model_requests(objects));
    check(cluster, objects, CheckOptions { models, ..CheckOptions::default() }).unwrap()
}

fn notes(report: &Report, i: usize) -> Vec<String> {
    report.workloads[i].memory.as_ref().unwrap().notes.clone()
}

/// `:latest` names no vLLM release: the verdict is computed at the assumed
/// one and says so — in the report (JSON `memory.notes`) and as a warning
/// of the workload in the text under the table. A versioned tag says nothing.
#[test]
fn an_unknown_vllm_version_is_said_not_silently_assumed() {
    let cluster = node(Some(1), "none", 0);
    let latest = run(&cluster, &[vllm("a", "vllm/vllm-openai:latest", 1, &[])]);
    let memory = latest.workloads[0].memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::Fits);
    assert_eq!(memory.notes, [ASSUMED]);
    let json = serde_json::to_value(&latest).unwrap();
    assert_eq!(json["workloads"][0]["memory"]["notes"], json!([ASSUMED]), "{json}");
    assert!(latest.explain().contains(&format!("Deployment/ml/a:\n  warning: {ASSUMED}\n")), "{}", latest.explain());

    let versioned = run(&cluster, &[vllm("a", "vllm/vllm-openai:v0.11.0", 1, &[])]);
    assert!(notes(&versioned, 0).is_empty());
    let json = serde_json::to_value(&versioned).unwrap();
    assert!(json["workloads"][0]["memory"].get("notes").is_none(), "{json}");
    assert_eq!(versioned.explain(), "");
}

/// Two vLLM pods of `image` at the default utilization on one physical
/// GPU time-sliced 4 ways: both placed, the first fits on the idle GPU.
fn two_on_one_sliced_gpu(image: &str) -> Report {
    let report = run(&node(Some(1), "time-slicing", 0), &[vllm("a", image, 1, &[]), vllm("b", image, 1, &[])]);
    assert_eq!((report.workloads[0].placed, report.workloads[1].placed), (1, 1));
    assert_eq!(report.workloads[0].memory.as_ref().unwrap().status, MemoryStatus::Fits);
    report
}

/// Two vLLM pods at the default utilization (0.9) on a node with one
/// physical H100 time-sliced 4 ways: both are placed, the first starts and
/// holds 90 % of the GPU, the second is refused by vLLM's startup check,
/// in its words (v0.11.0 gpu_worker.py:188-197 — no device name before 0.14).
#[test]
fn the_second_vllm_on_one_time_sliced_gpu_is_refused_in_vllms_words() {
    let report = two_on_one_sliced_gpu("vllm/vllm-openai:v0.11.0");
    assert!(notes(&report, 0).is_empty(), "the first starts on an idle GPU");
    let second = &report.workloads[1];
    let memory = second.memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::DoesNotFit, "{memory:?}");
    let refusal = memory.message.as_deref().unwrap();
    assert!(refusal.starts_with("Free memory on device ("), "{refusal}");
    assert!(refusal.contains("on startup is less than desired GPU memory utilization (0.9, "), "{refusal}");
    assert!(second.problems[0].to_string().starts_with("memory: Free memory on device ("));
    assert!(
        notes(&report, 1)[0]
            .starts_with("time-sliced: starts on node gpu-0's one physical GPU after Deployment/ml/a, which hold ")
    );
    assert!(!report.fits);
    // From 0.14 the check names the device (v1/worker/utils.py `request_memory`).
    let v14 = two_on_one_sliced_gpu("vllm/vllm-openai:v0.14.0");
    let message = v14.workloads[1].memory.as_ref().unwrap().message.clone().unwrap();
    assert!(message.starts_with("Free memory on device cuda:0 ("), "{message}");
}

/// Two pods that each ask for 45 % of the GPU both start on it: the second
/// sees the first's memory in use and still has its share free.
#[test]
fn pods_that_leave_room_for_each_other_both_start() {
    let cluster = node(Some(1), "time-slicing", 0);
    let half = ["--gpu-memory-utilization", "0.45"];
    let image = "vllm/vllm-openai:v0.11.0";
    let report = run(&cluster, &[vllm("a", image, 1, &half), vllm("b", image, 1, &half)]);
    assert!(report.fits, "{}", report.explain());
    let note = &notes(&report, 1)[0];
    assert!(note.contains("after Deployment/ml/a, which hold"), "{note}");
    assert!(report.explain().contains("  warning: time-sliced: starts on node gpu-0's one physical GPU"));
}

/// Two pods on a node with two physical GPUs: the device plugin's default
/// (distributed) policy gives each its own GPU, and nothing is shared. A
/// third replica doubles up on one of them and is refused.
#[test]
fn shares_up_to_the_physical_count_get_a_gpu_each() {
    let cluster = node(Some(2), "time-slicing", 0);
    let image = "vllm/vllm-openai:v0.11.0";
    let two = run(&cluster, &[vllm("a", image, 2, &[])]);
    assert!(two.fits, "{}", two.explain());
    assert!(notes(&two, 0).is_empty());
    let three = run(&cluster, &[vllm("a", image, 3, &[])]);
    let memory = three.workloads[0].memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::DoesNotFit);
    assert!(memory.message.as_deref().unwrap().starts_with("Free memory on device ("));
    assert!(memory.notes[0].contains("one of node gpu-0's 2 physical GPUs"), "{:?}", memory.notes);
}

/// What the snapshot cannot tell is a warning, never a guessed "fits":
/// pods already running on the GPUs (their memory is not in the snapshot),
/// several workloads over several GPUs (paired by start order).
#[test]
fn what_cannot_be_known_is_a_warning() {
    let image = "vllm/vllm-openai:v0.11.0";
    let running = run(&node(Some(1), "time-slicing", 1), &[vllm("a", image, 1, &[])]);
    let note = &notes(&running, 0)[0];
    assert!(note.contains("1 share(s) are held by running pods"), "{note}");
    assert!(note.contains("is not known"), "{note}");
    assert!(running.explain().contains("  warning: node gpu-0's GPUs are time-sliced"));

    let mixed = run(&node(Some(2), "time-slicing", 0), &[vllm("a", image, 2, &[]), vllm("b", image, 1, &[])]);
    for i in 0..2 {
        assert!(notes(&mixed, i)[0].contains("paired by the order their pods start"), "{:?}", notes(&mixed, i));
    }
    // No nvidia.com/gpu.count: allocatable ÷ replicas (4 ÷ 4) is the count.
    let derived = run(&node(None, "time-slicing", 0), &[vllm("a", image, 2, &[])]);
    assert_eq!(derived.workloads[0].memory.as_ref().unwrap().status, MemoryStatus::DoesNotFit);
}

/// MPS pins each client's memory to its share: pods on one GPU do not see
/// each other, and each is sized as its quarter.
#[test]
fn mps_shares_are_isolated() {
    let report = run(
        &node(Some(1), "mps", 0),
        &[
            vllm("a", "vllm/vllm-openai:v0.11.0", 1, &["--max-model-len", "2048"]),
            vllm("b", "vllm/vllm-openai:v0.11.0", 1, &["--max-model-len", "2048"]),
        ],
    );
    for i in 0..2 {
        let memory = report.workloads[i].memory.as_ref().unwrap();
        // No note of the other pod; a quarter of an L4 leaves this one
        // 0.39 GiB from vLLM's KV-cache limit, inside the model's error
        // (`MemoryFit::edge`), which is said.
        assert!(memory.notes.iter().all(|n| n.starts_with("fits, at the edge: ")), "{:?}", memory.notes);
        assert!(memory.fit.as_ref().unwrap().gpu.contains("MPS 1/4"));
    }
}

/// The same pair on V0 (vllm/vllm-openai:v0.7.3, the V0 default): no
/// startup check, and the budget leaves out what the first pod holds
/// (v0.7.3 worker.py:161 `baseline_snapshot`, :233-236), so the second
/// goes ahead and runs out of memory, in PyTorch's words
/// (`memory::co_tenant`, through the same `memory::evaluate` as `gpufit
/// model`): beside 90 % of the GPU its weights do not even load.
#[test]
fn the_second_v0_vllm_on_one_time_sliced_gpu_runs_out_of_memory() {
    let report = two_on_one_sliced_gpu("vllm/vllm-openai:v0.7.3");
    let memory = report.workloads[1].memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::DoesNotFit, "{memory:?}");
    let message = memory.message.as_deref().unwrap();
    assert!(message.starts_with("CUDA out of memory. GPU 0 has a total capacity of 79.19 GiB of which "), "{message}");
    assert!(message.contains("(vLLM 0.7.3 loading the model weights, beside the "), "{message}");
    assert!(
        notes(&report, 1)[0].starts_with("time-sliced: starts on node gpu-0's one physical GPU after Deployment/ml/a")
    );
    assert!(!report.fits);
}

/// A first pod at 45 % and a second at the default 90 % on one GPU, at one
/// release per band (`VllmVersion::co_tenant`): V0 0.7.3 sizes the
/// second's KV cache as on an empty GPU and runs out allocating it; V1
/// 0.8.5 takes the first's memory out of the second's KV cache
/// (v0.8.5 v1/worker/gpu_worker.py:203-210) and both start; V1 0.11.0
/// refuses the second at startup (v0.11.0 gpu_worker.py:188-197).
#[test]
fn a_small_first_pod_and_a_default_second_one_per_band() {
    let cluster = node(Some(1), "time-slicing", 0);
    let half = ["--gpu-memory-utilization", "0.45"];
    let second = |release: &str| {
        let image = format!("vllm/vllm-openai:v{release}");
        let report = run(&cluster, &[vllm("a", &image, 1, &half), vllm("b", &image, 1, &[])]);
        assert_eq!(report.workloads[0].memory.as_ref().unwrap().status, MemoryStatus::Fits, "{release}");
        report.workloads[1].memory.clone().unwrap()
    };
    let v0 = second("0.7.3");
    assert_eq!(v0.status, MemoryStatus::DoesNotFit);
    let message = v0.message.as_deref().unwrap();
    assert!(message.starts_with("CUDA out of memory. Tried to allocate "), "{message}");
    assert!(message.contains("(vLLM 0.7.3 allocating the KV cache, beside the "), "{message}");
    assert!(message.ends_with("--gpu-memory-utilization 0.54 or less leaves room for them)"), "{message}");

    let v1 = second("0.8.5");
    assert_eq!(v1.status, MemoryStatus::Fits, "{v1:?}");
    let alone = run(&cluster, &[vllm("b", "vllm/vllm-openai:v0.8.5", 1, &[])]);
    let kv = |m: &gpuops_fit::report::MemoryReport| m.fit.as_ref().unwrap().kv_budget_gib;
    let first_holds = alone.workloads[0].memory.as_ref().map(kv).unwrap() - kv(&v1);
    assert!((35.0..37.0).contains(&first_holds), "{first_holds}: 45 % of 79.19 GiB and its CUDA graphs");

    let checked = second("0.11.0");
    assert_eq!(checked.status, MemoryStatus::DoesNotFit);
    assert!(checked.message.as_deref().unwrap().starts_with("Free memory on device ("), "{checked:?}");
}

/// Two pods at 45 % each: on V0 (and from 0.9.1, above) both start; V1
/// before 0.9.1 counts the first pod as the second's own non-torch memory,
/// so `gpu_memory_utilization` is a share of the whole GPU and the second
/// has no KV cache left: "No available memory for the cache blocks".
#[test]
fn v1_before_0_9_1_counts_the_first_pod_against_the_second() {
    let cluster = node(Some(1), "time-slicing", 0);
    let half = ["--gpu-memory-utilization", "0.45"];
    let v0 = run(
        &cluster,
        &[vllm("a", "vllm/vllm-openai:v0.7.3", 1, &half), vllm("b", "vllm/vllm-openai:v0.7.3", 1, &half)],
    );
    assert!(v0.fits, "{}", v0.explain());
    let image = "vllm/vllm-openai:v0.8.5";
    let report = run(&cluster, &[vllm("a", image, 1, &half), vllm("b", image, 1, &half)]);
    assert_eq!(report.workloads[0].memory.as_ref().unwrap().status, MemoryStatus::Fits);
    let memory = report.workloads[1].memory.as_ref().unwrap();
    assert_eq!(memory.status, MemoryStatus::DoesNotFit, "{memory:?}");
    let message = memory.message.as_deref().unwrap();
    assert!(message.starts_with("No available memory for the cache blocks"), "{message}");
}

/// Where the pods beside it are not known, the warning says what they
/// would do to this pod's start at its release (`VllmVersion::co_tenant`):
/// V1 from 0.9.1 checks the free memory at startup (v0.11.0
/// gpu_worker.py:188-197); V1 0.6.5–0.9.0 and V0 0.6.4 count the others'
/// memory as their own and take it out of the KV cache (v0.8.5
/// v1/worker/gpu_worker.py:203-210, v0.6.4 worker.py:209-217); the other
/// V0 releases, `VLLM_USE_V1=0` included, size the cache as on an empty GPU
/// and run out of memory (v0.7.3 worker.py:161,226-236).
#[test]
fn what_cannot_be_known_is_said_by_what_the_pods_release_does() {
    let cluster = node(Some(1), "time-slicing", 1);
    let warning = |workload: Value| {
        let report = run(&cluster, &[workload]);
        let note = notes(&report, 0).into_iter().find(|n| n.starts_with("node gpu-0's GPUs are time-sliced")).unwrap();
        assert!(note.contains("1 share(s) are held by running pods"), "{note}");
        assert!(note.ends_with(", is not known"), "{note}");
        note
    };
    let checked = warning(vllm("a", "vllm/vllm-openai:v0.11.0", 1, &[]));
    assert!(
        checked.contains("and whether vLLM's startup check (\"Free memory on device … is less than desired GPU memory utilization\") passes beside the other pods there"),
        "{checked}"
    );
    let subtracted = warning(vllm("a", "vllm/vllm-openai:v0.8.5", 1, &[]));
    assert!(
        subtracted.contains("and how much of its KV cache the other pods there take (vLLM 0.8.5 counts their memory as its own and takes it out of the KV cache, down to \"No available memory for the cache blocks\")"),
        "{subtracted}"
    );
    assert!(!subtracted.contains("Free memory on device"), "{subtracted}");
    let v0_subtracted = warning(vllm("a", "vllm/vllm-openai:v0.6.4", 1, &[]));
    assert!(v0_subtracted.contains("(vLLM 0.6.4 (V0 engine) counts their memory as its own"), "{v0_subtracted}");
    let unseen = warning(vllm("a", "vllm/vllm-openai:v0.7.3", 1, &[]));
    assert!(
        unseen.contains("and whether it runs out of memory beside the other pods there (vLLM 0.7.3 (V0 engine) sizes its KV cache as on an empty GPU: \"CUDA out of memory\" loading the weights or allocating the cache)"),
        "{unseen}"
    );
    // VLLM_USE_V1=0 keeps V0 up to 0.10, and its accounting with it.
    let mut forced = vllm("a", "vllm/vllm-openai:v0.10.1", 1, &[]);
    forced["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "VLLM_USE_V1", "value": "0"}]);
    let forced = warning(forced);
    assert!(forced.contains("(vLLM 0.10.1 (V0 engine) sizes its KV cache as on an empty GPU"), "{forced}");
    assert!(warning(vllm("a", "vllm/vllm-openai:v0.10.1", 1, &[])).contains("Free memory on device"));
}
