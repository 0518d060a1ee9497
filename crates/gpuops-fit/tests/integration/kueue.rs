//! Kueue admission (`gpuops_schedule::kueue`) of workloads as manifests
//! declare them: read into pod groups by `gpuops_fit::workloads`.

use std::collections::BTreeMap;

use gpuops_fit::workloads::PodGroup;
use gpuops_schedule::kueue::{QUEUE_LABEL, admit};
use serde_json::{Value, json};

fn job(name: &str, gpus: u64, parallelism: u64) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "rl", "labels": {QUEUE_LABEL: "train"}},
        "spec": {"parallelism": parallelism, "template": {"spec": {"containers": [{"name": "t", "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}}}})
}

fn setup(nominal: u64, cohort_peer: Option<u64>) -> Vec<Value> {
    let mut objects = vec![
        json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ResourceFlavor", "metadata": {"name": "h100"},
            "spec": {"nodeLabels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}}}),
        json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": "rl"},
            "spec": {"cohort": "research", "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"],
                "flavors": [{"name": "h100", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": nominal}]}]}]}}),
        json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue", "metadata": {"name": "train", "namespace": "rl"},
            "spec": {"clusterQueue": "rl"}}),
    ];
    if let Some(peer) = cohort_peer {
        objects.push(
            json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "metadata": {"name": "eval"},
            "spec": {"cohort": "research", "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"],
                "flavors": [{"name": "h100", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": peer}]}]}]}}),
        );
    }
    objects
}

fn groups(objects: &[Value]) -> Vec<PodGroup> {
    objects
        .iter()
        .flat_map(|o| gpuops_fit::workloads::pod_groups(o, &BTreeMap::new()).unwrap())
        .map(|w| w.group)
        .collect()
}

#[test]
fn quota_admits_waits_and_borrows_from_the_cohort() {
    // 8 nominal: the first 2×4 GPU job is admitted, the second waits.
    let mut objects = setup(8, None);
    objects.extend([job("a", 4, 2), job("b", 4, 1)]);
    let mut g = groups(&objects);
    let (refused, _) = admit(&mut g, &objects);
    assert!(refused[0].is_none());
    assert_eq!(g[0].spec.pointer("/nodeSelector/nvidia.com~1gpu.product"), Some(&json!("NVIDIA-H100-80GB-HBM3")));
    assert_eq!(
        refused[1].as_deref(),
        Some(
            "Kueue keeps it suspended in LocalQueue rl/train: couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor h100, 4 more needed"
        )
    );
    assert_eq!(g[1].replicas, 0, "a suspended Job has no pods");
    // The cohort's unused 8 GPUs are borrowed.
    let mut objects = setup(8, Some(8));
    objects.extend([job("a", 4, 2), job("b", 4, 1)]);
    let mut g = groups(&objects);
    assert!(admit(&mut g, &objects).0.iter().all(Option::is_none));
    // More than the queue and its cohort could ever hold.
    let mut objects = setup(8, Some(8));
    objects.push(job("big", 8, 3));
    let mut g = groups(&objects);
    let (refused, _) = admit(&mut g, &objects);
    assert!(refused[0].as_deref().unwrap().ends_with(
        "insufficient quota for nvidia.com/gpu in flavor h100, previously considered podsets requests (0) + current podset request (24) > maximum capacity (16)"
    ));
    // A label without any Kueue objects: said, not guessed.
    let objects = vec![job("a", 1, 1)];
    let mut g = groups(&objects);
    let (refused, warned) = admit(&mut g, &objects);
    assert!(refused[0].is_none() && warned[0].as_deref().unwrap().contains("not checked"));
}
