//! Pods with `spec.nodeName`: the scheduler never sees them; the kubelet
//! of that node admits or rejects each (pkg/kubelet/lifecycle/predicate.go
//! `Admit`).

use super::{Event, GroupPlacement, NodeUse, commit, group_host_ports, kubelet};
use crate::cluster::Cluster;
use crate::group::PodGroup;
use crate::resources::display;

/// Replicas pinned to one node: the kubelet's answer for each.
pub(super) fn place_pinned(
    cluster: &Cluster,
    group: &PodGroup,
    pinned: &str,
    index: &std::collections::HashMap<&str, usize>,
    used: &mut [NodeUse],
    placed: &mut Vec<usize>,
    placement: &mut GroupPlacement,
) {
    let Some(&i) = index.get(pinned) else {
        // No kubelet ever sees it; the pod garbage collector deletes pods
        // bound to a node that does not exist (pkg/controller/podgc/
        // gc_controller.go `gcOrphaned`).
        placement.message = Some(format!(
            "spec.nodeName pins the pod to node {pinned}, which is not in the cluster: it never starts, and the pod garbage collector deletes it"
        ));
        placement.hint =
            Some("pin it to a node of the cluster, or drop spec.nodeName and let the scheduler choose".to_string());
        return;
    };
    let node = &cluster.nodes[i];
    let host_ports = group_host_ports(group);
    for _ in 0..group.replicas {
        match kubelet::admit_with_ports(&group.spec, &group.requests, &host_ports, node, &used[i]) {
            Ok(()) => {
                commit(&mut used[i], group, &host_ports);
                placed.push(i);
                placement.nodes.push(node.name.clone());
            }
            Err(rejection) => {
                placement.message = Some(format!(
                    "the kubelet on {pinned} rejects the pod (status Failed, reason {}): {}",
                    rejection.reason,
                    rejection.status_message()
                ));
                placement.event = Some(Event {
                    reason: rejection.reason.to_string(),
                    from: "kubelet".into(),
                    message: rejection.message.clone(),
                });
                placement.hint = Some(pinned_hint(group, node, &used[i], &rejection));
                return;
            }
        }
    }
}

fn pinned_hint(
    group: &PodGroup,
    node: &crate::cluster::Node,
    used: &NodeUse,
    rejection: &kubelet::Rejection,
) -> String {
    let pinned = &node.name;
    match &rejection.reason {
        kubelet::RejectionReason::OutOf(resource) => {
            let resource = resource.as_str();
            let alloc = node.allocatable.get(resource).copied().unwrap_or(0);
            let free = alloc.saturating_sub(used.requests.get(resource).copied().unwrap_or(0));
            let want = if resource == "pods" { 1 } else { group.requests.get(resource).copied().unwrap_or(0) };
            format!(
                "spec.nodeName bypasses the scheduler: {pinned} has {} {resource} allocatable ({} free) and the pod asks for {}; pin it to a node with enough free, ask for less, or drop spec.nodeName",
                display(resource, alloc),
                display(resource, free),
                display(resource, want)
            )
        }
        reason @ (kubelet::RejectionReason::NodeAffinity | kubelet::RejectionReason::TaintToleration) => {
            format!("spec.nodeName bypasses the scheduler, but not the kubelet's {reason} check on {pinned}")
        }
        kubelet::RejectionReason::NodePorts => format!(
            "spec.nodeName bypasses the scheduler, but not the kubelet's NodePorts check: a hostPort the pod asks for is taken on {pinned}; choose another port or node, or drop the hostPort"
        ),
    }
}
