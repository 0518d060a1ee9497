//! API-server admission (`gpuops_schedule::admission`: ResourceQuota,
//! LimitRange, PriorityClass, RuntimeClass) of workloads as manifests
//! declare them.

use std::collections::BTreeMap;

use gpuops_schedule::admission::admit;
use gpuops_schedule::cluster::{BoundPod, Cluster};
use gpuops_schedule::resources::Resources;
use serde_json::{Value, json};

/// The pod groups of `workloads`, in order, as `check` builds them.
fn groups_of(workloads: &[Value]) -> Vec<gpuops_schedule::group::PodGroup> {
    workloads
        .iter()
        .flat_map(|o| gpuops_fit::workloads::pod_groups(o, &BTreeMap::new()).unwrap())
        .map(|w| w.group)
        .collect()
}

fn deployment(replicas: u64, extra: Value) -> Value {
    let mut spec = json!({"containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": 2}}}]});
    if let (Some(s), Value::Object(e)) = (spec.as_object_mut(), extra) {
        s.extend(e);
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "qwen", "namespace": "llm"},
        "spec": {"replicas": replicas, "template": {"spec": spec}}})
}

#[test]
fn quota_refuses_replicas_with_the_api_servers_words() {
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "gpu-quota", "namespace": "llm"},
        "spec": {"hard": {"requests.nvidia.com/gpu": "8"}}});
    let objects = vec![deployment(3, json!({})), quota];
    let mut cluster = Cluster::default();
    cluster.pods.push(BoundPod {
        namespace: "llm".into(),
        name: "old".into(),
        node: "n".into(),
        requests: Resources::from([("nvidia.com/gpu".into(), 4)]),
        priority: 0,
        labels: Default::default(),
    });
    let mut groups = groups_of(&objects[..1]);
    let a = admit(&mut groups, &objects, &cluster);
    assert_eq!(groups[0].replicas, 2, "4 used + 2 × 2 = 8; the third replica is refused");
    assert_eq!(
        a.refused[0].as_deref(),
        Some(
            "Error creating: pods \"qwen-…\" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=8, limited: requests.nvidia.com/gpu=8 (2 of 3 replica(s) admitted)"
        )
    );
}

#[test]
fn limit_range_defaults_fill_in_missing_requests() {
    let objects = vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "qwen", "namespace": "llm"},
            "spec": {"template": {"spec": {"containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}),
        json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": "llm"},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "8", "memory": "64Gi"}, "defaultRequest": {"cpu": "4"}}]}}),
    ];
    let mut groups = groups_of(&objects[..1]);
    admit(&mut groups, &objects, &Cluster::default());
    // cpu from defaultRequest; memory's request defaults from the defaulted limit.
    assert_eq!((groups[0].requests["cpu"], groups[0].requests["memory"]), (4000, 64 << 30));
    assert_eq!(groups[0].requests["nvidia.com/gpu"], 1);
}

#[test]
fn priority_classes_and_runtime_class_overhead() {
    let objects = vec![
        deployment(1, json!({"priorityClassName": "inference", "runtimeClassName": "nvidia"})),
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "inference"}, "value": 1000, "preemptionPolicy": "Never"}),
        json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "nvidia"}, "handler": "nvidia",
            "overhead": {"podFixed": {"cpu": "250m"}}, "scheduling": {"nodeSelector": {"nvidia.com/gpu.present": "true"}}}),
    ];
    let mut groups = groups_of(&objects[..1]);
    admit(&mut groups, &objects, &Cluster::default());
    assert_eq!((groups[0].priority, groups[0].preemption_never), (1000, true));
    assert_eq!(groups[0].requests.get("cpu"), Some(&250));
    assert_eq!(groups[0].spec.pointer("/nodeSelector/nvidia.com~1gpu.present"), Some(&json!("true")));
    let unknown = vec![deployment(1, json!({"priorityClassName": "missing"}))];
    let mut groups = groups_of(&unknown[..1]);
    let a = admit(&mut groups, &unknown, &Cluster::default());
    assert!(a.refused[0].as_deref().unwrap().contains("no PriorityClass with name missing was found"));
}

/// Two Jobs of one `generateName` in one render (an evaluation pipeline's
/// `kubectl create -f` of two runs) are both named `Job/ml/eval-*`: the one
/// whose PriorityClass does not exist is refused, the other is not. Matched
/// back by name, the refusal went to the first Job and the second ran.
#[test]
fn a_priority_refusal_goes_to_its_own_group_when_two_share_a_name() {
    let job = |class: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "eval-", "namespace": "ml"},
            "spec": {"template": {"spec": {"priorityClassName": class, "restartPolicy": "Never",
                "containers": [{"name": "e", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}})
    };
    let objects = vec![
        job("batch"),
        job("nightly"),
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "batch"}, "value": 100}),
    ];
    let mut groups = groups_of(&objects[..2]);
    assert_eq!(groups[0].label(), groups[1].label());
    let a = admit(&mut groups, &objects, &Cluster::default());
    assert_eq!(a.refused[0], None, "the Job of an existing class is created");
    assert_eq!((groups[0].replicas, groups[0].priority), (1, 100));
    assert_eq!(
        a.refused[1].as_deref(),
        Some("pods \"eval-*\" is forbidden: no PriorityClass with name nightly was found")
    );
    assert_eq!(groups[1].replicas, 0);

    // What `gpufit check` reports.
    let cluster = gpuops_fit::pools::synthetic("1*8xH100-80GB").unwrap();
    let report = gpuops_fit::report::check(&cluster, &objects, Default::default()).unwrap();
    let fits: Vec<bool> = report.workloads.iter().map(|w| w.fits).collect();
    assert_eq!(fits, [true, false]);
}
