//! One case per scheduler/kubelet/admission rule, each naming the upstream
//! file it follows, over dumps shaped like `kubectl get
//! nodes,pods,priorityclasses,resourcequotas -A -o json`, read as JSON and
//! as YAML (both readers must give the same verdict).

use gpuops_fit::report::{CheckOptions, check};
use gpuops_schedule::cluster::from_dump;
use serde_json::{Value, json};

fn node(name: &str, allocatable: Option<Value>, extra: Value) -> Value {
    let mut n = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "nvidia.com/gpu.product": "NVIDIA-L40S"}},
        "spec": {}, "status": {"capacity": {"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "4"}}});
    if let Some(a) = allocatable {
        n["status"]["allocatable"] = a;
    }
    merge(&mut n, extra);
    n
}

fn gpu_node(name: &str) -> Value {
    node(name, Some(json!({"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "4"})), json!({}))
}

fn pod(name: &str, node: &str, spec: Value, extra: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "batch"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
        "status": {"phase": "Running"}});
    merge(&mut p["spec"], spec);
    merge(&mut p, extra);
    p
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        for (k, v) in b {
            match (a.get_mut(&k), v) {
                (Some(existing @ Value::Object(_)), v @ Value::Object(_)) => merge(existing, v),
                (_, v) => {
                    a.insert(k, v);
                }
            }
        }
    }
}

fn workload(spec: Value, replicas: u64) -> Value {
    let mut pod_spec = json!({"containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": 2}}}]});
    merge(&mut pod_spec, spec);
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "serve", "namespace": "llm"},
        "spec": {"replicas": replicas, "strategy": {"type": "Recreate"},
            "template": {"metadata": {"labels": {"app": "serve"}}, "spec": pod_spec}}})
}

struct Case {
    rule: &'static str,
    /// The upstream file the rule follows.
    source: &'static str,
    dump: Vec<Value>,
    manifests: Vec<Value>,
    /// Something the explanation must say.
    says: &'static str,
    fits: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            rule: "a node without status.allocatable offers nothing, not even pods",
            source: "pkg/scheduler/framework/types.go NodeInfo.SetNode (NewResource(node.Status.Allocatable))",
            dump: vec![node("bare", None, json!({}))],
            manifests: vec![workload(json!({}), 1)],
            says: "0/1 nodes are available: 1 Insufficient nvidia.com/gpu, 1 Too many pods.",
            fits: false,
        },
        Case {
            rule: "Too many pods is reported with the resource shortages",
            source: "pkg/scheduler/framework/plugins/noderesources/fit.go fitsRequest",
            dump: vec![
                node(
                    "full",
                    Some(json!({"cpu": "64", "memory": "256Gi", "pods": "1", "nvidia.com/gpu": "4"})),
                    json!({}),
                ),
                pod(
                    "p",
                    "full",
                    json!({"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 3}}}]}),
                    json!({}),
                ),
            ],
            manifests: vec![workload(json!({}), 1)],
            says: "0/1 nodes are available: 1 Insufficient nvidia.com/gpu, 1 Too many pods.",
            fits: false,
        },
        Case {
            rule: "pod-level resources of bound pods replace their container sum",
            source: "staging/src/k8s.io/component-helpers/resource/helpers.go PodRequests",
            dump: vec![gpu_node("n"), pod("big", "n", json!({"resources": {"requests": {"cpu": "63"}}}), json!({}))],
            manifests: vec![workload(
                json!({"containers": [{"name": "vllm", "resources": {"requests": {"cpu": "2"}}}]}),
                1,
            )],
            says: "0/1 nodes are available: 1 Insufficient cpu.",
            fits: false,
        },
        Case {
            rule: "v1.35 does not name the taint",
            source: "pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go Filter",
            dump: vec![
                gpu_node("n")
                    .as_object()
                    .cloned()
                    .map(|mut o| {
                        o.insert(
                            "spec".into(),
                            json!({"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]}),
                        );
                        Value::Object(o)
                    })
                    .unwrap(),
            ],
            manifests: vec![workload(json!({}), 1)],
            says: "0/1 nodes are available: 1 node(s) had untolerated taint(s).",
            fits: false,
        },
        Case {
            rule: "a cordoned node",
            source: "pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go",
            dump: vec![node(
                "n",
                Some(json!({"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "4"})),
                json!({"spec": {"unschedulable": true}}),
            )],
            manifests: vec![workload(json!({}), 1)],
            says: "0/1 nodes are available: 1 node(s) were unschedulable.",
            fits: false,
        },
        Case {
            rule: "nodeSelector",
            source: "pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go Filter",
            dump: vec![gpu_node("a"), gpu_node("b")],
            manifests: vec![workload(json!({"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}}), 1)],
            says: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
            fits: false,
        },
        Case {
            rule: "matchFields metadata.name narrows the candidates in PreFilter",
            source: "pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go PreFilter; schedule_one.go",
            dump: vec![gpu_node("a"), gpu_node("b"), gpu_node("c")],
            manifests: vec![workload(
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}]}}}}),
                3,
            )],
            says: "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
            fits: false,
        },
        Case {
            rule: "spec.nodeName is the kubelet's decision",
            source: "pkg/kubelet/lifecycle/predicate.go Admit; pkg/kubelet/kubelet.go rejectPod",
            dump: vec![gpu_node("n")],
            manifests: vec![workload(
                json!({"nodeName": "n", "containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": 6}}}]}),
                1,
            )],
            says: "reason OutOfnvidia.com/gpu): Pod was rejected: Node didn't have enough resource: nvidia.com/gpu, requested: 6, used: 0, capacity: 4",
            fits: false,
        },
        Case {
            rule: "a higher-priority pod preempts a lower one",
            source: "pkg/scheduler/framework/preemption/preemption.go; plugins/defaultpreemption/default_preemption.go",
            dump: vec![
                gpu_node("n"),
                pod(
                    "filler",
                    "n",
                    json!({"priority": 0, "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 4}}}]}),
                    json!({}),
                ),
                json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "serving"}, "value": 1000}),
            ],
            manifests: vec![workload(json!({"priorityClassName": "serving"}), 1)],
            says: "preempts: batch/filler",
            fits: true,
        },
        Case {
            rule: "required anti-affinity against bound pods",
            source: "pkg/scheduler/framework/plugins/interpodaffinity/filtering.go",
            dump: vec![
                gpu_node("a"),
                gpu_node("b"),
                pod("old", "a", json!({}), json!({"metadata": {"namespace": "llm", "labels": {"app": "serve"}}})),
            ],
            manifests: vec![workload(
                json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "serve"}}, "topologyKey": "kubernetes.io/hostname"}]}}}),
                2,
            )],
            says: "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.",
            fits: false,
        },
        Case {
            rule: "a namespace's GPU quota refuses the replicas beyond it",
            source: "plugin/pkg/admission/resourcequota/controller.go checkRequest",
            dump: vec![
                gpu_node("a"),
                gpu_node("b"),
                json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "gpus", "namespace": "llm"},
                    "spec": {"hard": {"requests.nvidia.com/gpu": "4"}}, "status": {"hard": {"requests.nvidia.com/gpu": "4"}, "used": {"requests.nvidia.com/gpu": "2"}}}),
            ],
            manifests: vec![workload(json!({}), 2)],
            says: "exceeded quota: gpus, requested: requests.nvidia.com/gpu=2, used: requests.nvidia.com/gpu=4, limited: requests.nvidia.com/gpu=4 (1 of 2 replica(s) admitted)",
            fits: false,
        },
    ]
}

#[test]
fn every_rule_over_json_and_yaml_dumps() {
    for case in cases() {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": case.dump});
        let mut yaml = String::new();
        gpuops_manifest::yaml::write_document(&mut yaml, &list);
        for (format, text) in [("json", serde_json::to_string_pretty(&list).unwrap()), ("yaml", yaml)] {
            let cluster = from_dump(text.as_bytes(), "dump").unwrap_or_else(|e| panic!("{}: {e}", case.rule));
            let report = check(&cluster, &case.manifests, CheckOptions::default()).unwrap();
            let explained = report.explain();
            assert!(
                explained.contains(case.says),
                "{} ({}), {format} dump: expected {:?} in\n{explained}",
                case.rule,
                case.source,
                case.says
            );
            assert_eq!(report.fits, case.fits, "{} ({}), {format} dump:\n{explained}", case.rule, case.source);
        }
    }
}
