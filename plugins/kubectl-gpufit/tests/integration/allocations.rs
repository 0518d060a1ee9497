//! `nodes -g`: allocations grouped as kubectl-view-allocations groups them
//! (davidB/kubectl-view-allocations README, "Show gpu allocation", "Group
//! by namespaces"), with MIG and shared GPUs apart and `-o json` rows.

use serde_json::Value;

use crate::util::{gpufit, text};

/// Whole H100s (one idle node), a MIG-partitioned A100, a time-sliced L4, a
/// pod without GPUs.
const DUMP: &str = r#"apiVersion: v1
kind: List
items:
- kind: Node
  apiVersion: v1
  metadata: {name: a100-0, labels: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}}
  status: {allocatable: {cpu: "64", memory: 512Gi, pods: "110", nvidia.com/mig-3g.40gb: "4"}}
- kind: Node
  apiVersion: v1
  metadata: {name: h100-0, labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}}
  status: {allocatable: {cpu: "64", memory: 512Gi, pods: "110", nvidia.com/gpu: "8"}}
- kind: Node
  apiVersion: v1
  metadata: {name: h100-1, labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}}
  status: {allocatable: {cpu: "64", memory: 512Gi, pods: "110", nvidia.com/gpu: "8"}}
- kind: Node
  apiVersion: v1
  metadata: {name: l4-0, labels: {nvidia.com/gpu.product: NVIDIA-L4, nvidia.com/gpu.sharing-strategy: time-slicing, nvidia.com/gpu.replicas: "4"}}
  status: {allocatable: {cpu: "16", memory: 64Gi, pods: "110", nvidia.com/gpu: "4"}}
- kind: Pod
  apiVersion: v1
  metadata: {name: train-0, namespace: ml}
  spec: {nodeName: h100-0, containers: [{name: c, resources: {limits: {nvidia.com/gpu: "4"}}}]}
  status: {phase: Running}
- kind: Pod
  apiVersion: v1
  metadata: {name: serve-0, namespace: web}
  spec: {nodeName: h100-0, containers: [{name: c, resources: {limits: {nvidia.com/gpu: "2"}}}]}
  status: {phase: Running}
- kind: Pod
  apiVersion: v1
  metadata: {name: mig-0, namespace: ml}
  spec: {nodeName: a100-0, containers: [{name: c, resources: {limits: {nvidia.com/mig-3g.40gb: "1"}}}]}
  status: {phase: Running}
- kind: Pod
  apiVersion: v1
  metadata: {name: small-0, namespace: web}
  spec: {nodeName: l4-0, containers: [{name: c, resources: {limits: {nvidia.com/gpu: "1"}}}]}
  status: {phase: Running}
- kind: Pod
  apiVersion: v1
  metadata: {name: cpu-0, namespace: web}
  spec: {nodeName: h100-1, containers: [{name: c, resources: {requests: {cpu: "1"}}}]}
  status: {phase: Running}
"#;

fn nodes(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let dump = dir.join("dump.yaml");
    std::fs::write(&dump, DUMP).unwrap();
    let out = gpufit(&[&["nodes", "--cluster-file", dump.to_str().unwrap()][..], args].concat());
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn group_by_node_and_pod_draws_the_peers_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = nodes(dir.path(), &["-g", "node", "-g", "pod"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "RESOURCE                                  REQUESTED   LIMIT     ALLOCATABLE   FREE
nvidia.com/gpu (shared time-slicing x4)   (25%) 1     (25%) 1   4             3
└─ l4-0                                   (25%) 1     (25%) 1   4             3
   └─ web/small-0                         1           1
nvidia.com/gpu                            (38%) 6     (38%) 6   16            10
├─ h100-0                                 (75%) 6     (75%) 6   8             2
│  ├─ ml/train-0                          4           4
│  └─ web/serve-0                         2           2
└─ h100-1                                 (0%) 0      (0%) 0    8             8
nvidia.com/mig-3g.40gb (MIG)              (25%) 1     (25%) 1   4             3
└─ a100-0                                 (25%) 1     (25%) 1   4             3
   └─ ml/mig-0                            1           1
"
    );
    // Comma-separated is the same.
    assert_eq!(nodes(dir.path(), &["-g", "node,pod"]).1, stdout);
}

#[test]
fn groups_of_pods_have_no_allocatable_groups_of_nodes_do() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = nodes(dir.path(), &["-g", "namespace", "--no-headers"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("├─ ml                                     4           4\n"), "{stdout}");
    let (_, stdout, _) = nodes(dir.path(), &["-g", "gpu-product", "--no-headers"]);
    assert!(
        stdout.contains("└─ NVIDIA-H100-80GB-HBM3                  (38%) 6     (38%) 6   16            10\n"),
        "{stdout}"
    );
    // -n: only that namespace's pods (allocatable stays the nodes').
    let (_, stdout, _) = nodes(dir.path(), &["-g", "pod", "-n", "web", "--no-headers"]);
    assert!(!stdout.contains("ml/"), "{stdout}");
    assert!(stdout.contains("web/serve-0"), "{stdout}");
}

#[test]
fn json_has_the_same_rows_in_an_allocation_list() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = nodes(dir.path(), &["-g", "node,pod", "-o", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["kind"], "AllocationList");
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 11, "one per table row");
    let pod = items.iter().find(|i| i["pod"] == "ml/train-0").unwrap();
    assert_eq!(
        (&pod["level"], &pod["node"], &pod["requested"], &pod["limit"], &pod["allocatable"]),
        (&Value::from("pod"), &Value::from("h100-0"), &Value::from(4), &Value::from(4), &Value::Null)
    );
    let mig = items.iter().find(|i| i["level"] == "resource" && i["resource"] == "nvidia.com/mig-3g.40gb").unwrap();
    assert_eq!((&mig["offering"], &mig["requestedPercent"]), (&Value::from("mig 3g.40gb"), &Value::from(25)));
    let shared = &items[0];
    assert_eq!((&shared["offering"], &shared["free"]), (&Value::from("shared time-slicing x4"), &Value::from(3)));
    // A group name outside the four is refused.
    let (code, _, stderr) = nodes(dir.path(), &["-g", "resource"]);
    assert_eq!(code, Some(2), "{stderr}");
}
