//! The "hint:" line names the filter that really blocks (issue 21, item 8):
//! each placement filter is relaxed together with resources, and taints
//! are named only where a node has one the pod does not tolerate.

use gpuops_fit::report::{CheckOptions, check};
use gpuops_schedule::cluster::from_dump;
use serde_json::{Value, json};

/// A 4-GPU node in `pool`, with `taints`, whose GPUs `busy` of them are in use.
fn gpu_node(name: &str, pool: &str, taints: Value, busy: i64) -> Vec<Value> {
    let mut objects = vec![json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "pool": pool}},
        "spec": {"taints": taints},
        "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "4"}}})];
    if busy > 0 {
        objects.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("{name}-filler"), "namespace": "batch"},
            "spec": {"nodeName": name, "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": busy}}}]},
            "status": {"phase": "Running"}}));
    }
    objects
}

fn hint_for(dump: Vec<Value>, selector: &str) -> String {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": dump});
    let cluster = from_dump(list.to_string().as_bytes(), "dump").unwrap();
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "vllm", "namespace": "llm"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "vllm"}},
            "template": {"metadata": {"labels": {"app": "vllm"}}, "spec": {"nodeSelector": {"pool": selector},
                "containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": 2}}}]}}}});
    let report = check(&cluster, &[deployment], CheckOptions::default()).unwrap();
    assert!(!report.fits, "{}", report.explain());
    report.workloads[0].hint.clone().unwrap_or_default()
}

#[test]
fn untainted_nodes_ruled_out_by_the_selector_and_full_are_not_blamed_on_taints() {
    // Before: "2 node(s) offer nvidia.com/gpu (a, b), but each is ruled out
    // by taints and node affinity together; relax both" — neither node has a taint.
    let mut dump = gpu_node("a", "x", json!([]), 4);
    dump.extend(gpu_node("b", "y", json!([]), 4));
    let hint = hint_for(dump, "z");
    assert_eq!(
        hint,
        "2 node(s) offer nvidia.com/gpu (a, b), but they are ruled out by its nodeSelector/affinity; allow them in its nodeSelector/affinity, and they lack room too (Insufficient nvidia.com/gpu): free capacity there as well"
    );
    assert!(!hint.contains("taint"), "{hint}");
}

#[test]
fn a_taint_is_named_only_where_it_blocks() {
    // a: tainted, selected, full; b: untainted, not selected, free.
    // Relaxing the selector alone places the pod on b: that is the hint,
    // not the taint on a.
    let taint = json!([{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]);
    let mut dump = gpu_node("a", "x", taint.clone(), 4);
    dump.extend(gpu_node("b", "y", json!([]), 0));
    assert_eq!(hint_for(dump, "x"), "would fit on 1 node(s) if its nodeSelector/affinity allowed them (b)");

    // Both nodes tainted and not selected, with room: both filters block.
    let mut dump = gpu_node("a", "x", taint.clone(), 0);
    dump.extend(gpu_node("b", "y", taint.clone(), 0));
    assert_eq!(
        hint_for(dump, "z"),
        "2 node(s) offer nvidia.com/gpu (a, b), but they are ruled out by taints (the pod does not tolerate dedicated=batch:NoSchedule) and by its nodeSelector/affinity together; relax both"
    );

    // Selected but tainted and full: the taint, and the room.
    let mut dump = gpu_node("a", "x", taint, 3);
    dump.extend(gpu_node("b", "y", json!([]), 0));
    dump.retain(|o| o["metadata"]["name"] != "b");
    assert_eq!(
        hint_for(dump, "x"),
        "1 node(s) offer nvidia.com/gpu (a), but they carry a taint the pod does not tolerate (dedicated=batch:NoSchedule); add a toleration for it, and they lack room too (Insufficient nvidia.com/gpu): free capacity there as well"
    );
}

#[test]
fn a_missing_topology_label_is_named_not_a_placement_filter() {
    // PodTopologySpread: a node without the constraint's topology key fails
    // as UnschedulableAndUnresolvable (`node(s) didn't match pod topology
    // spread constraints (missing required label)`); no selector or taint is to blame.
    let dump = gpu_node("a", "x", json!([]), 0);
    let list = json!({"apiVersion": "v1", "kind": "List", "items": dump});
    let cluster = from_dump(list.to_string().as_bytes(), "dump").unwrap();
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "vllm", "namespace": "llm"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "vllm"}},
            "template": {"metadata": {"labels": {"app": "vllm"}}, "spec": {
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "vllm"}}}],
                "containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}});
    let report = check(&cluster, &[deployment], CheckOptions::default()).unwrap();
    assert_eq!(
        report.workloads[0].hint.as_deref(),
        Some(
            "1 node(s) with nvidia.com/gpu (a) pass its taints and node affinity, but not: node(s) didn't match pod topology spread constraints (missing required label)"
        )
    );
}
