//! What a report on a whole cluster could not know, beside each
//! workload's own warnings.

use gpuops_schedule::cluster::Cluster;
use gpuops_schedule::scheduler::Placement;

/// What the placement on `cluster` could not know. PodDisruptionBudgets
/// matter only where preemption chose victims: upstream evicts protected
/// pods when it must (default_preemption.go `SelectVictimsOnNode` tries to
/// spare the pods a budget protects first, `pickOneNodeForPreemption`
/// counts violations to choose a node), so without the budgets whether a
/// workload fits is unchanged, but which pods it evicts, on which node, and
/// whether that violates a budget may not be what the scheduler does.
pub(super) fn of_cluster(cluster: &Cluster, placement: &Placement) -> Vec<String> {
    let preempts = placement.groups.iter().any(|g| !g.preempted.is_empty());
    match &cluster.pdbs_unread {
        Some(why) if preempts => vec![format!(
            "PodDisruptionBudgets could not be listed ({why}): preemption victims are chosen without them"
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use gpuops_schedule::cluster::from_dump;
    use serde_json::json;

    use crate::report::{CheckOptions, check};

    /// One 1-GPU node, held by a priority-0 pod or free, and a workload of
    /// a higher priority that needs the GPU.
    fn report(held: bool, unread: Option<&str>) -> Vec<String> {
        let mut items = vec![
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": {"kubernetes.io/hostname": "n"}},
                "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "1"}}}),
            json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "serving"}, "value": 1000}),
        ];
        if held {
            items.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "filler", "namespace": "batch"},
                "spec": {"nodeName": "n", "priority": 0, "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 1}}}]},
                "status": {"phase": "Running"}}));
        }
        let dump = json!({"apiVersion": "v1", "kind": "List", "items": items});
        let mut cluster = from_dump(dump.to_string().as_bytes(), "cluster.json").unwrap();
        cluster.pdbs_unread = unread.map(str::to_string);
        let serving = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "serve", "namespace": "llm"},
            "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "template": {"spec": {"priorityClassName": "serving",
                "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}});
        let report = check(&cluster, &[serving], CheckOptions::default()).unwrap();
        assert!(report.fits);
        assert_eq!(report.workloads[0].preempts.len(), usize::from(held));
        report.warnings
    }

    #[test]
    fn unread_budgets_are_said_only_where_preemption_chose_victims() {
        assert_eq!(
            report(true, Some("403 Forbidden")),
            ["PodDisruptionBudgets could not be listed (403 Forbidden): preemption victims are chosen without them"]
        );
        assert!(report(false, Some("403 Forbidden")).is_empty(), "no victims, nothing budgets could change");
        assert!(report(true, None).is_empty(), "read (or a dump)");
    }
}
