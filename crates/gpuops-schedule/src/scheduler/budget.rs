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
use crate::group::PodGroup;

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
