//! DefaultPreemption, the PostFilter that runs when no node fits
//! (kubernetes/kubernetes pkg/scheduler/framework/preemption/preemption.go
//! and plugins/defaultpreemption/default_preemption.go): on every node
//! where preemption might help, remove the lower-priority pods, keep back
//! as many as still let the pod fit (most important first), and pick the
//! node whose victims matter least.
//!
//! Not modelled: PodDisruptionBudgets (the first tie-break), start times,
//! replicas placed in this run as victims, and pod-dependent filters
//! changing when victims leave (those nodes answer "No preemption victims
//! found").

use super::NodeUse;
use super::filters::{Reject, shortages};
use crate::cluster::Cluster;
use crate::group::PodGroup;

/// Where the pod goes, and whom it evicts (indices into `Cluster::pods`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preemption {
    pub node: usize,
    pub victims: Vec<usize>,
}

const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// Why the PostFilter preempts nothing, in its words (`preemption: …`,
/// pkg/scheduler/framework/preemption/preemption.go `Preempt`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoPreemption {
    /// `preemptionPolicy: Never` (PodEligibleToPreemptOthers).
    #[error("preemption: not eligible due to preemptionPolicy=Never.")]
    Never,
    /// No node has victims that make room: each reason with its count of
    /// nodes (`1 No preemption victims found for incoming pod`), sorted.
    #[error("preemption: 0/{nodes} nodes are available: {}.", reasons.join(", "))]
    NoCandidate { nodes: usize, reasons: Vec<String> },
}

/// Preempt for one pod of `group`, or why not.
pub fn preempt(
    cluster: &Cluster,
    group: &PodGroup,
    used: &[NodeUse],
    rejects: &[(usize, Reject)],
    pods_by_node: &[Vec<usize>],
    removed: &[bool],
) -> Result<Preemption, NoPreemption> {
    // PodEligibleToPreemptOthers
    if group.preemption_never {
        return Err(NoPreemption::Never);
    }
    let mut histogram: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut candidates: Vec<(i32, i64, usize, usize, Vec<usize>)> = Vec::new();
    for (node_index, reject) in rejects {
        if !reject.preemption_might_help() {
            *histogram.entry(NOT_HELPFUL).or_insert(0) += 1;
            continue;
        }
        let node = &cluster.nodes[*node_index];
        let lower: Vec<usize> = pods_by_node[*node_index]
            .iter()
            .copied()
            .filter(|&p| !removed[p] && cluster.pods[p].priority < group.priority)
            .collect();
        let mut left = used[*node_index].clone();
        for &p in &lower {
            left.remove(&cluster.pods[p].requests);
        }
        let resources_only = matches!(reject, Reject::Resources(_));
        if lower.is_empty()
            || !resources_only
            || !shortages(&group.requests, node, &left.requests, left.pods).is_empty()
        {
            *histogram.entry(NO_VICTIMS).or_insert(0) += 1;
            continue;
        }
        // SelectVictimsOnNode: reprieve the most important first
        // (util.MoreImportantPod: higher priority first).
        let mut order = lower.clone();
        order.sort_by(|&a, &b| {
            let (pa, pb) = (&cluster.pods[a], &cluster.pods[b]);
            pb.priority.cmp(&pa.priority).then_with(|| (&pa.namespace, &pa.name).cmp(&(&pb.namespace, &pb.name)))
        });
        let mut victims = Vec::new();
        for p in order {
            left.add(&cluster.pods[p].requests);
            if !shortages(&group.requests, node, &left.requests, left.pods).is_empty() {
                left.remove(&cluster.pods[p].requests);
                victims.push(p);
            }
        }
        let highest = victims.iter().map(|&v| cluster.pods[v].priority).max().unwrap_or(i32::MIN);
        // pickOneNodeForPreemption sums the priorities shifted by 2^31
        // (`int64(pod.Spec.Priority) + int64(math.MaxInt32+1)`), so every
        // victim adds a positive amount: of two nodes whose victims all
        // have negative priorities, the one with fewer victims wins.
        let sum: i64 = victims.iter().map(|&v| i64::from(cluster.pods[v].priority) + (1i64 << 31)).sum();
        candidates.push((highest, sum, victims.len(), *node_index, victims));
    }
    // pickOneNodeForPreemption (pkg/scheduler/framework/preemption/
    // preemption.go): lowest highest-priority victim, then the lowest sum
    // of shifted priorities, then the fewest victims; the PDB count before
    // them and the start-time tie-break after them are not modelled.
    if let Some((_, _, _, node, victims)) = candidates.into_iter().min_by_key(|c| (c.0, c.1, c.2, c.3)) {
        return Ok(Preemption { node, victims });
    }
    let mut reasons: Vec<String> = histogram.into_iter().map(|(r, n)| format!("{n} {r}")).collect();
    reasons.sort();
    Err(NoPreemption::NoCandidate { nodes: cluster.nodes.len(), reasons })
}
