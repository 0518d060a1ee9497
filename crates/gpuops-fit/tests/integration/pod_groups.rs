//! What a pod group keeps of a workload (`gpuops_schedule::group::scheduling_fields`)
//! once `gpuops_fit::workloads` has read it.

use std::collections::BTreeMap;

use serde_json::json;

/// A Deployment whose pods carry a large payload (an env value, probes,
/// volumes) besides every field the scheduler reads: its pod group
/// keeps the scheduling fields and the containers' resources, not the
/// payload, and its requests and engine are read from the whole spec.
#[test]
fn a_pod_group_keeps_the_scheduling_fields_not_the_payload() {
    let payload = "x".repeat(200_000);
    let scheduling = json!({
        "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
        "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "q"}}, "topologyKey": "kubernetes.io/hostname"}]}},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "q"}}}],
        "priorityClassName": "inference",
        "runtimeClassName": "nvidia",
        "overhead": {"cpu": "250m"},
    });
    let mut pod = scheduling.clone();
    let extra = json!({
        "initContainers": [{"name": "proxy", "image": "envoy", "restartPolicy": "Always",
            "resources": {"requests": {"cpu": "1"}}, "env": [{"name": "BIG", "value": payload}]}],
        "containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.8.5",
            "args": ["--model", "Qwen/Qwen2.5-7B-Instruct", "--max-model-len=8192"],
            "env": [{"name": "BIG", "value": payload}],
            "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
            "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"cpu": "4"}}}],
        "volumes": [{"name": "cache", "emptyDir": {}}],
        "serviceAccountName": "vllm",
    });
    pod.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "q", "namespace": "llm"},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "q"}}, "spec": pod}}});

    let group = &gpuops_fit::workloads::pod_groups(&deployment, &BTreeMap::new()).unwrap()[0];
    assert_eq!(group.spec, scheduling, "exactly the scheduling fields");
    let containers: serde_json::Value = serde_json::from_str(&group.containers).unwrap();
    assert_eq!(
        containers,
        json!({"initContainers": [{"restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}}],
            "containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"cpu": "4"}}}]})
    );
    // Read from the whole spec: the sidecar's cpu and the overhead count.
    assert_eq!((group.requests["cpu"], group.requests["nvidia.com/gpu"]), (5250, 1));
    let engine = group.engine.as_ref().unwrap();
    assert_eq!((engine.model.as_str(), engine.args.max_model_len), ("Qwen/Qwen2.5-7B-Instruct", Some(8192)));
    // What LimitRange defaulting reads back: the containers put back.
    assert_eq!(gpuops_schedule::resources::pod_requests(&group.pod_spec()).unwrap(), group.requests);
}
