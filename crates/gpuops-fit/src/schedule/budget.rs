//! Bounded placement work. Placing R replicas on N nodes checks each
//! replica against every node (R × N filter evaluations, as the real
//! scheduler's Filter phase does), and keeps one entry per placed replica.
//! A manifest saying `replicas: 1000000000` against nodes allowing
//! `pods: 1e9` would run for hours or run out of memory, so the work is
//! sized from the groups before anything is allocated or looped over, and
//! preemption (whose cost grows with the bound pods) is metered while it
//! runs. Past the budget the answer is [`TooLarge`]: never a panic, an
//! abort, or "fits".

use crate::cluster::Cluster;
use crate::workloads::PodGroup;

/// How much placement work a check may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Filter evaluations (one pod against one node), placement and rollout
    /// surge together, plus preemption's visits to nodes and bound pods.
    pub checks: u64,
    /// Replicas (and surge pods) in all: each placed one is kept in the
    /// report, so this bounds the memory.
    pub replicas: u64,
}

impl Budget {
    /// 10^7 filter evaluations. Measured with a release build on this
    /// project's 2-core machine: 2×10^7 (20,000 replicas × 1,000 nodes,
    /// every one placed) take 2.3 s with a cpu request alone and 11.5 s with
    /// node affinity, a topology spread and tolerations; 10^8 took 15 s with
    /// the cpu request alone. So the worst case here stays within a few
    /// seconds, and 2,000 replicas still fit on 5,000 nodes (Kubernetes'
    /// tested maximum). 10^6 replicas: almost 7× the 150,000 pods per
    /// cluster that Kubernetes is tested to
    /// (kubernetes/community sig-scalability/configs-and-limits/thresholds.md,
    /// "Number of pods"), and a bound on what the report keeps per replica.
    pub const DEFAULT: Budget = Budget { checks: 10_000_000, replicas: 1_000_000 };
}

impl Default for Budget {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Placement that would take more work than the [`Budget`] allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TooLarge {
    #[error(
        "too large to simulate: {replicas} replicas × {nodes} nodes exceeds the budget of {} node checks and {} replicas ({largest} asks for the most, {most}); lower its replicas or check fewer nodes (-l)",
        budget.checks, budget.replicas
    )]
    Placement { replicas: u64, nodes: usize, budget: Budget, largest: String, most: u64 },
    #[error(
        "too large to simulate: preemption among {pods} bound pods on {nodes} nodes exceeds the budget of {} node checks; check fewer nodes (-l)",
        budget.checks
    )]
    Preemption { pods: usize, nodes: usize, budget: Budget },
}

/// Replicas of `group` that are placed one by one: a DaemonSet's pods are
/// one per node instead.
fn pods_of(group: &PodGroup) -> u64 {
    if group.per_node { 0 } else { group.replicas.saturating_add(group.rollout.blocking_surge()) }
}

/// Filter evaluations `group` may need: each replica and surge pod against
/// every node (one node when `spec.nodeName` pins it), a DaemonSet once per node.
fn checks_of(group: &PodGroup, nodes: u64) -> u64 {
    if group.per_node {
        nodes
    } else if group.pinned_node().is_some() {
        pods_of(group)
    } else {
        pods_of(group).saturating_mul(nodes.max(1))
    }
}

/// The work placing `groups` on `cluster` may take, refused when over
/// `budget`; the accepted estimate starts the [`Meter`]. O(groups): called
/// before any per-replica allocation or loop.
pub fn size(cluster: &Cluster, groups: &[PodGroup], budget: Budget) -> Result<Meter, TooLarge> {
    let nodes = cluster.nodes.len() as u64;
    let replicas = groups.iter().fold(0u64, |sum, g| sum.saturating_add(pods_of(g)));
    let checks = groups.iter().fold(0u64, |sum, g| sum.saturating_add(checks_of(g, nodes)));
    if checks > budget.checks || replicas > budget.replicas {
        let (largest, most) = groups
            .iter()
            .map(|g| (g, pods_of(g)))
            .max_by_key(|(_, n)| *n)
            .map(|(g, n)| (gpuops_manifest::text::printable(&g.label()), n))
            .unwrap_or_default();
        return Err(TooLarge::Placement { replicas, nodes: cluster.nodes.len(), budget, largest, most });
    }
    Ok(Meter { spent: checks, budget })
}

/// Work spent so far, against the budget.
#[derive(Debug, Clone)]
pub struct Meter {
    spent: u64,
    budget: Budget,
}

impl Meter {
    /// Count one preemption attempt: it visits every rejected node and the
    /// bound pods on them, at most every node and every pod.
    pub fn preemption(&mut self, cluster: &Cluster) -> Result<(), TooLarge> {
        let visits = (cluster.nodes.len() as u64).saturating_add(cluster.pods.len() as u64);
        self.spent = self.spent.saturating_add(visits);
        if self.spent > self.budget.checks {
            return Err(TooLarge::Preemption {
                pods: cluster.pods.len(),
                nodes: cluster.nodes.len(),
                budget: self.budget,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::report::{CheckError, CheckOptions, check};

    /// Nodes as a dump gives them: `pods` and `cpu` as the node says, up to
    /// `1e9` pods and `1e18` bytes of memory.
    fn dump(nodes: usize, pods: &str, memory: &str) -> Cluster {
        let items: Vec<Value> = (0..nodes)
            .map(|i| {
                json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("n{i}")},
                    "status": {"allocatable": {"cpu": "1e9", "memory": memory, "pods": pods, "nvidia.com/gpu": "8"}}})
            })
            .collect();
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
        crate::cluster::from_dump(list.as_bytes(), "cluster.json").unwrap()
    }

    fn deployment(replicas: u64, requests: Value, priority: Option<&str>) -> Value {
        let mut spec = json!({"containers": [{"name": "c", "image": "busybox", "resources": {"requests": requests}}]});
        if let Some(class) = priority {
            spec["priorityClassName"] = json!(class);
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big", "namespace": "ml"},
            "spec": {"replicas": replicas, "strategy": {"type": "Recreate"}, "template": {"spec": spec}}})
    }

    /// `replicas: 1e9` on nodes allowing 1e9 pods each: refused at once
    /// with the typed error (before: a billion placements, each keeping the
    /// node's name, until memory ran out).
    #[test]
    fn a_billion_replicas_are_too_large_to_simulate_not_an_abort() {
        let cluster = dump(2, "1e9", "1Ti");
        let started = std::time::Instant::now();
        let result = check(&cluster, &[deployment(1_000_000_000, json!({"cpu": "1m"}), None)], CheckOptions::default());
        let elapsed = started.elapsed();
        let Err(CheckError::TooLarge(error)) = result else { panic!("expected TooLarge, got {result:?}") };
        assert!(
            matches!(error, TooLarge::Placement { replicas: 1_000_000_000, nodes: 2, ref largest, most: 1_000_000_000, .. } if largest == "Deployment/ml/big"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "too large to simulate: 1000000000 replicas × 2 nodes exceeds the budget of 10000000 node checks and 1000000 replicas (Deployment/ml/big asks for the most, 1000000000); lower its replicas or check fewer nodes (-l)"
        );
        assert!(elapsed < std::time::Duration::from_secs(1), "refused before placing: {elapsed:?}");
        // Replicas × nodes is what counts: 200,000 replicas are fine on one
        // node, not on 800.
        let within = Budget { checks: 200_000, replicas: 1_000_000 };
        let groups = crate::workloads::pod_groups(&deployment(200_000, json!({}), None), &Default::default()).unwrap();
        assert!(size(&dump(1, "1e9", "1Ti"), &groups, within).is_ok());
        assert!(matches!(size(&dump(800, "110", "1Ti"), &groups, within), Err(TooLarge::Placement { nodes: 800, .. })));
    }

    /// Preemption's cost grows with the bound pods; past the budget it
    /// stops with its own error instead of running on.
    #[test]
    fn preemption_is_metered() {
        let mut cluster = dump(1, "110", "1Ti");
        for i in 0..8 {
            cluster.pods.push(crate::cluster::BoundPod {
                namespace: "batch".into(),
                name: format!("low-{i}"),
                node: "n0".into(),
                requests: crate::resources::Resources::from([("nvidia.com/gpu".into(), 1)]),
                priority: -10,
                labels: Default::default(),
            });
        }
        let high = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000});
        let objects = [deployment(8, json!({"nvidia.com/gpu": 1}), Some("high")), high];
        let report = check(&cluster, &objects, CheckOptions::default()).unwrap();
        assert_eq!(report.workloads[0].preempts.len(), 8, "within the default budget every replica preempts one pod");
        // 8 filter evaluations, then 8 preemptions visiting 1 node and 9 pods each.
        let mut options = CheckOptions::default();
        options.scheduler.budget = Budget { checks: 50, replicas: 100 };
        let error = check(&cluster, &objects, options).unwrap_err();
        assert_eq!(
            error.to_string(),
            "too large to simulate: preemption among 8 bound pods on 1 nodes exceeds the budget of 50 node checks; check fewer nodes (-l)"
        );
    }

    /// Quantities near i64::MAX (a dump's `memory: 9e18`, a pod asking as
    /// much) are compared and scored without overflowing.
    #[test]
    fn huge_quantities_do_not_overflow() {
        let cluster = dump(2, "110", "9e18");
        let report =
            check(&cluster, &[deployment(3, json!({"memory": "4e18"}), None)], CheckOptions::default()).unwrap();
        assert_eq!(report.workloads[0].placed, 3, "{:?}", report.workloads[0]);
        let report =
            check(&cluster, &[deployment(5, json!({"memory": "4e18"}), None)], CheckOptions::default()).unwrap();
        assert!(!report.fits, "two nodes hold 4 of them");
    }
}
