//! A preemption that evicts pods a PodDisruptionBudget protects says so:
//! kube-scheduler evicts them anyway (it only prefers nodes with fewer
//! such victims: pkg/scheduler/framework/preemption/preemption.go
//! `pickOneNodeForPreemption`, criterion 1), and the workload behind them
//! suffers a voluntary disruption its PDB forbids.

use gpuops_fit::report::{CheckOptions, WorkloadStatus, check};
use gpuops_schedule::cluster::from_dump;
use serde_json::{Value, json};

/// One 1-GPU node held by a priority-0 `batch/filler` pod labelled
/// `app: filler`, the `serving` PriorityClass, and `pdbs`.
fn dump(pdbs: &[Value]) -> Value {
    let mut items = vec![
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": {"kubernetes.io/hostname": "n"}},
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "1"}}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "filler", "namespace": "batch", "labels": {"app": "filler"}},
            "spec": {"nodeName": "n", "priority": 0,
                "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 1}}}]},
            "status": {"phase": "Running"}}),
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "serving"}, "value": 1000}),
    ];
    items.extend(pdbs.iter().cloned());
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

fn pdb(allowed: i64) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "filler", "namespace": "batch"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "filler"}}},
        "status": {"disruptionsAllowed": allowed}})
}

fn serving() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "serve", "namespace": "llm"},
        "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
            "template": {"metadata": {"labels": {"app": "serve"}}, "spec": {"priorityClassName": "serving",
                "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}})
}

#[test]
fn a_victim_its_pdb_protects_is_counted_in_the_report() {
    let cluster = from_dump(dump(&[pdb(0)]).to_string().as_bytes(), "cluster.json").unwrap();
    let report = check(&cluster, &[serving()], CheckOptions::default()).unwrap();
    let w = &report.workloads[0];
    assert!(w.fits);
    assert_eq!((w.preempts.as_slice(), w.pdb_violations), (&["batch/filler".to_string()][..], 1));
    assert_eq!(w.status(), WorkloadStatus::FitsByPreempting { pods: 1, pdb_violations: 1 });
    assert_eq!(w.status().as_str(), "fits by preempting 1 pod(s), 1 violating a PodDisruptionBudget");
    let explained = report.explain();
    assert!(
        explained.contains("  preempts 1 pod(s), 1 violating a PodDisruptionBudget: batch/filler\n"),
        "{explained}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json.pointer("/workloads/0/pdbViolations"), Some(&json!(1)));
}

/// A PDB that still allows a disruption, or none at all: the victim is
/// no violation and the report reads as before (no `pdbViolations`).
#[test]
fn a_pdb_that_allows_the_disruption_is_no_violation() {
    for pdbs in [vec![pdb(1)], vec![]] {
        let cluster = from_dump(dump(&pdbs).to_string().as_bytes(), "cluster.json").unwrap();
        let report = check(&cluster, &[serving()], CheckOptions::default()).unwrap();
        let w = &report.workloads[0];
        assert_eq!((w.preempts.len(), w.pdb_violations), (1, 0), "{pdbs:?}");
        assert_eq!(w.status().as_str(), "fits by preempting 1 pod(s)");
        assert!(report.explain().contains("  preempts: batch/filler\n"), "{}", report.explain());
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json.pointer("/workloads/0/pdbViolations"), None);
    }
}
