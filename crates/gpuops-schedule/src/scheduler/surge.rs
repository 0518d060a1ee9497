//! Surge pods of a rolling update, placed after every replica: where they
//! would go, or who refuses the first that does not fit.

use super::affinity::Context;
use super::filters::{fit_message, prefilter_node_names};
use super::pods::PodTerms;
use super::{Incoming, Options, Placement, Reject, choose, commit, group_host_ports, kubelet};
use crate::cluster::Cluster;
use crate::group::PodGroup;

/// Why a surge pod of a rolling update does not fit, in the words of
/// whoever refuses it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurgeRefused {
    /// `spec.nodeName` names a node the cluster does not have.
    #[error("node {0} is not in the cluster")]
    NoSuchNode(String),
    /// The kubelet of the pinned node rejects it.
    #[error("the kubelet on {node} rejects it: {}", rejection.status_message())]
    Kubelet { node: String, rejection: kubelet::Rejection },
    /// The scheduler finds no node: its FailedScheduling message.
    #[error("{0}")]
    Unschedulable(String),
}

/// Surge pods of a rolling update of `groups[index]`, placed after every
/// replica of `placement`: where they would go, or why the first that
/// does not fit does not.
pub fn place_surge(
    cluster: &Cluster,
    groups: &[PodGroup],
    index: usize,
    placement: &Placement,
    surge: u64,
    options: Options,
) -> Result<(), SurgeRefused> {
    let group = &groups[index];
    let version = options.kube_version.wording();
    let mut used = placement.used.clone();
    if let Some(pinned) = group.pinned_node() {
        let Some(i) = cluster.nodes.iter().position(|n| n.name == pinned) else {
            return Err(SurgeRefused::NoSuchNode(pinned.to_string()));
        };
        let host_ports = group_host_ports(group);
        for _ in 0..surge {
            kubelet::admit_with_ports(&group.spec, &group.requests, &host_ports, &cluster.nodes[i], &used[i])
                .map_err(|rejection| SurgeRefused::Kubelet { node: pinned.to_string(), rejection })?;
            commit(&mut used[i], group, &host_ports);
        }
        return Ok(());
    }
    let mut ctx = Context::new(cluster, groups);
    let mut terms = PodTerms::build(cluster, groups, index, &placement.placed, &mut ctx);
    let prefilter = prefilter_node_names(&group.spec);
    let host_ports = group_host_ports(group);
    for _ in 0..surge {
        let pod =
            Incoming { cluster, group, options, terms: &terms, prefilter: prefilter.as_ref(), host_ports: &host_ports };
        match choose(&pod, &used) {
            Ok(i) => {
                commit(&mut used[i], group, &host_ports);
                terms.commit(i);
            }
            Err(rejects) => {
                let only: Vec<Reject> = rejects.into_iter().map(|(_, r)| r).collect();
                return Err(SurgeRefused::Unschedulable(fit_message(cluster.nodes.len(), &only, version)));
            }
        }
    }
    Ok(())
}
