//! The part of a pod spec a [`super::PodGroup`] keeps: what admission, the
//! scheduler simulation and the kubelet's admission read after the group
//! is built. The engine (command, args, env, image) and the warnings are
//! read from the whole spec before it is cut down, so a render of tens of
//! thousands of workloads holds its scheduling fields, not its probes,
//! env values and volumes (the Argo CD plugin's fit gate runs under the
//! sidecar's memory limit).

use serde_json::Value;

/// Pod spec fields read after `gpuops_fit::workloads::pod_groups`; every other one is
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
/// (requests, LimitRange defaults), `restartPolicy` (a sidecar init
/// container counts like a regular one) and `ports` (NodePorts; only the
/// entries with a `hostPort` are kept, see [`host_ports_only`]).
const CONTAINER_FIELDS: &[&str] = &["resources", "restartPolicy", "ports"];

/// `spec` with only the fields read after the group is built, each map
/// and list allocated at its size (the parser's grow as they are read),
/// and its containers apart: see `split`.
pub fn scheduling_fields(spec: Value) -> (Value, Box<str>) {
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
            let kept: Vec<(String, Value)> = c
                .into_iter()
                .filter(|(k, _)| CONTAINER_FIELDS.contains(&k.as_str()))
                .filter_map(|(k, v)| if k == "ports" { host_ports_only(v).map(|v| (k, v)) } else { Some((k, v)) })
                .collect();
            compact(Value::Object(kept.into_iter().collect()))
        }
        other => compact(other),
    });
    Value::Array(items.collect())
}

/// A container's `ports` cut to the entries that hold a host port (the
/// NodePorts filter reads nothing else); `None` when none does.
fn host_ports_only(ports: Value) -> Option<Value> {
    let Value::Array(items) = ports else { return None };
    let kept: Vec<Value> = items
        .into_iter()
        .filter(|p| p.get("hostPort").and_then(Value::as_i64).is_some_and(|h| h > 0))
        .map(compact)
        .collect();
    (!kept.is_empty()).then_some(Value::Array(kept))
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
