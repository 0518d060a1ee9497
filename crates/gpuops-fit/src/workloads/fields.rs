//! The part of a pod spec a [`super::PodGroup`] keeps: what admission, the
//! scheduler simulation and the kubelet's admission read after the group
//! is built. The engine (command, args, env, image) and the warnings are
//! read from the whole spec before it is cut down, so a render of tens of
//! thousands of workloads holds its scheduling fields, not its probes,
//! env values and volumes (the Argo CD plugin's fit gate runs under the
//! sidecar's memory limit).

use serde_json::Value;

/// Pod spec fields read after [`super::pod_groups`]; every other one is
/// dropped. Readers: `schedule::filters` (nodeSelector, affinity),
/// `schedule::pods` (affinity, topologySpreadConstraints), `schedule` and
/// `schedule::kubelet` (tolerations), `PodGroup::pinned_node` (nodeName),
/// `resources::pod_requests` (containers, initContainers, resources,
/// overhead; recomputed by LimitRange defaulting), `admission`
/// (runtimeClassName, overhead, priorityClassName), `kueue` (nodeSelector,
/// tolerations added). preemptionPolicy and resourceClaims are read while
/// the group is built; they are kept so that a later reader finds them.
const POD_FIELDS: &[&str] = &[
    "nodeSelector",
    "affinity",
    "tolerations",
    "topologySpreadConstraints",
    "nodeName",
    "containers",
    "initContainers",
    "resources",
    "overhead",
    "runtimeClassName",
    "priorityClassName",
    "preemptionPolicy",
    "resourceClaims",
];

/// Container fields read after the group is built: `resources`
/// (requests, LimitRange defaults) and `restartPolicy` (a sidecar init
/// container counts like a regular one).
const CONTAINER_FIELDS: &[&str] = &["resources", "restartPolicy"];

/// `spec` with only the fields read after the group is built, each map
/// and list allocated at its size (the parser's grow as they are read),
/// and its containers apart: see [`split`].
pub(super) fn scheduling_fields(spec: Value) -> (Value, Box<str>) {
    let Value::Object(map) = spec else { return (spec, Box::default()) };
    let (mut kept, mut lists) = (Vec::new(), serde_json::Map::new());
    for (k, v) in map.into_iter().filter(|(k, _)| POD_FIELDS.contains(&k.as_str())) {
        match k.as_str() {
            "containers" | "initContainers" => {
                lists.insert(k, containers(v));
            }
            _ => kept.push((k, compact(v))),
        }
    }
    (Value::Object(kept.into_iter().collect()), split(lists))
}

/// The containers and init containers as compact JSON text: their
/// resources are read into the group's requests when it is built and
/// only LimitRange defaulting reads them again, while as values they take
/// a few maps each (about 2 KiB a pod), as text a hundred bytes.
fn split(lists: serde_json::Map<String, Value>) -> Box<str> {
    if lists.is_empty() {
        return Box::default();
    }
    Value::Object(lists).to_string().into_boxed_str()
}

fn containers(list: Value) -> Value {
    let Value::Array(items) = list else { return compact(list) };
    let items = items.into_iter().map(|c| match c {
        Value::Object(c) => {
            let kept: Vec<(String, Value)> =
                c.into_iter().filter(|(k, _)| CONTAINER_FIELDS.contains(&k.as_str())).collect();
            compact(Value::Object(kept.into_iter().collect()))
        }
        other => compact(other),
    });
    Value::Array(items.collect())
}

/// `value` rebuilt with every map and list at its exact size: collected
/// from an exact-size iterator, which sizes the allocation once.
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, compact(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(compact).collect()),
        Value::String(s) => Value::String(s.into_boxed_str().into_string()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
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

        let group = &super::super::pod_groups(&deployment, &BTreeMap::new()).unwrap()[0];
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
        assert_eq!(crate::resources::pod_requests(&group.pod_spec()).unwrap(), group.requests);
    }
}
