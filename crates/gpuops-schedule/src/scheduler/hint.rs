//! "Would fit if" hints. A hint names the filter that really blocks: it is
//! derived from the rejections the scheduler gave and re-checks the nodes
//! with one filter relaxed, then with each placement filter relaxed
//! together with resources, so it never says "fragmentation" while the
//! blocker is cpu, "no node offers nvidia.com/gpu" while a selector rules
//! the GPU nodes out, nor "taints" on a node without any.

use std::collections::BTreeSet;

use super::filters::Reject;
use super::{Incoming, NodeUse, Skip};
use crate::resources::display;

fn names(list: &[&str]) -> String {
    let mut shown: Vec<&str> = list.iter().copied().take(3).collect();
    if list.len() > 3 {
        shown.push("…");
    }
    shown.join(", ")
}

pub(super) fn hint(pod: &Incoming<'_>, used: &[NodeUse], rejects: &[(usize, Reject)]) -> Option<String> {
    let (cluster, group) = (pod.cluster, pod.group);
    if pod.terms.parse_error().is_some() {
        return Some(
            "the scheduler refuses the pod before looking at any node: make every value of its pod (anti-)affinity label selectors a valid label value".to_string(),
        );
    }
    let passes = |i: usize, skip: Skip| pod.filter(i, &used[i], skip).is_ok();
    let relaxed =
        |skip: Skip| rejects.iter().filter(|(i, _)| passes(*i, skip)).map(|(i, r)| (*i, r)).collect::<Vec<_>>();

    let by_taints = relaxed(Skip { taints: true, ..Skip::default() });
    if let Some((_, first)) = by_taints.first() {
        let what = match first {
            Reject::Taint(t) => format!("{}={}:{}", t.key, t.value, t.effect),
            _ => "node.kubernetes.io/unschedulable:NoSchedule (the node is cordoned)".to_string(),
        };
        return Some(format!("would fit on {} node(s) if the pod tolerated {what}", by_taints.len()));
    }
    let by_affinity = relaxed(Skip { affinity: true, ..Skip::default() });
    if !by_affinity.is_empty() {
        let listed: Vec<&str> = by_affinity.iter().map(|(i, _)| cluster.nodes[*i].name.as_str()).collect();
        return Some(format!(
            "would fit on {} node(s) if its nodeSelector/affinity allowed them ({})",
            listed.len(),
            names(&listed)
        ));
    }
    // Nodes that pass the placement filters: what stops the pod there is
    // capacity or other pods.
    let eligible: Vec<usize> = rejects
        .iter()
        .filter(|(_, r)| {
            matches!(
                r,
                Reject::Resources(_)
                    | Reject::Spread { missing_label: false }
                    | Reject::PodAntiAffinity
                    | Reject::ExistingAntiAffinity
                    | Reject::PodAffinity
                    | Reject::Ports
            )
        })
        .map(|(i, _)| *i)
        .collect();
    let resource = group.gpu_resource();
    if eligible.is_empty() {
        return Some(placement_blockers(pod, used, resource));
    }
    let ports = eligible.iter().filter(|i| rejects.iter().any(|(j, r)| j == *i && *r == Reject::Ports)).count();
    if ports > 0 && ports == eligible.len() {
        return Some(format!(
            "a hostPort it asks for is taken on the {ports} node(s) it may use; choose a free port, or drop hostPort (a Service reaches the pods without one)"
        ));
    }
    let pod_rule = eligible.iter().filter(|i| {
        rejects.iter().any(|(j, r)| {
            j == *i
                && matches!(
                    r,
                    Reject::PodAntiAffinity
                        | Reject::ExistingAntiAffinity
                        | Reject::PodAffinity
                        | Reject::Spread { .. }
                )
        })
    });
    let pod_rule_count = pod_rule.count();
    if pod_rule_count > 0 && pod_rule_count == eligible.len() {
        return Some(format!(
            "its required pod (anti-)affinity or topology spread, or other pods' anti-affinity against it, rules out the {pod_rule_count} node(s) with room; add nodes in new topology domains, or lower the replicas"
        ));
    }
    let free = |i: usize, name: &str| {
        // Saturating: quantities from manifests and dumps reach i64::MAX.
        cluster.nodes[i]
            .allocatable
            .get(name)
            .copied()
            .unwrap_or(0)
            .saturating_sub(used[i].requests.get(name).copied().unwrap_or(0))
    };
    if let Some(resource) = resource {
        let want = group.requests.get(resource).copied().unwrap_or(0);
        let gpu_ok: Vec<usize> = eligible.iter().copied().filter(|&i| free(i, resource) >= want).collect();
        if !gpu_ok.is_empty() {
            // The GPUs are there; something else is short on those nodes.
            let mut short: BTreeSet<String> = BTreeSet::new();
            for (i, r) in rejects {
                if gpu_ok.contains(i)
                    && let Reject::Resources(s) = r
                {
                    short.extend(s.iter().map(|s| s.resource.clone()));
                }
            }
            if short.is_empty() {
                // The nodes with the GPUs free are ruled out by other pods
                // (anti-affinity, spread, host ports), not by a resource.
                return Some(format!(
                    "{} node(s) have {want} {resource} free, but the pod's (anti-)affinity, topology spread or host ports, or other pods' anti-affinity against it, rule them out; add nodes in new topology domains, or lower the replicas",
                    gpu_ok.len()
                ));
            }
            let detail: Vec<String> = short
                .iter()
                .map(|name| {
                    let asked = if name == "pods" { 1 } else { group.requests.get(name).copied().unwrap_or(0) };
                    let best = gpu_ok
                        .iter()
                        .map(|&i| {
                            if name == "pods" {
                                cluster.nodes[i]
                                    .allocatable
                                    .get("pods")
                                    .copied()
                                    .unwrap_or(0)
                                    .saturating_sub(used[i].pods)
                            } else {
                                free(i, name)
                            }
                        })
                        .max()
                        .unwrap_or(0);
                    format!("{name} (asks {}, at most {} free)", display(name, asked), display(name, best.max(0)))
                })
                .collect();
            return Some(format!(
                "{} node(s) have {want} {resource} free but not enough {}",
                gpu_ok.len(),
                detail.join(", ")
            ));
        }
        let free_list: Vec<(usize, i64)> = eligible.iter().map(|&i| (i, free(i, resource).max(0))).collect();
        let total: i64 = free_list.iter().fold(0, |sum, (_, f)| sum.saturating_add(*f));
        let (best_node, best) = free_list
            .iter()
            .max_by_key(|(i, f)| (*f, std::cmp::Reverse(cluster.nodes[*i].name.clone())))
            .map(|(i, f)| (cluster.nodes[*i].name.as_str(), *f))
            .unwrap_or_default();
        return Some(if total >= want {
            format!(
                "would fit if {want} {resource} were free on one node: {total} free on eligible nodes, at most {best} on one ({best_node}) — fragmentation"
            )
        } else {
            format!(
                "would fit if {} more {resource} were free on an eligible node ({total} free in all, at most {best} on one)",
                want.saturating_sub(best)
            )
        });
    }
    let asked: Vec<String> = group.requests.iter().map(|(k, v)| format!("{k}={}", display(k, *v))).collect();
    Some(format!("would fit on a node with {} free", asked.join(", ")))
}

/// What rules a node out when every node fails a placement filter: each
/// placement filter checked alone (taints with node affinity and capacity
/// relaxed, node affinity with taints and capacity relaxed) and capacity
/// with both relaxed.
struct Blockers {
    /// The first untolerated taint (or the cordon), when taints block.
    taint: Option<String>,
    affinity: bool,
    /// What the capacity and pod-dependent filters say, when they block too.
    capacity: Option<String>,
}

fn blockers(pod: &Incoming<'_>, used: &[NodeUse], i: usize) -> Blockers {
    let version = pod.options.kube_version.wording();
    let only = |skip: Skip| pod.filter(i, &used[i], skip).err();
    let taint = only(Skip { affinity: true, resources: true, ..Skip::default() }).map(|r| match r {
        Reject::Taint(t) => format!("{}={}:{}", t.key, t.value, t.effect),
        _ => "node.kubernetes.io/unschedulable:NoSchedule (cordoned)".to_string(),
    });
    let affinity = only(Skip { taints: true, resources: true, ..Skip::default() }).is_some();
    let capacity =
        only(Skip { taints: true, affinity: true, ..Skip::default() }).map(|r| r.reasons(version).join(", "));
    Blockers { taint, affinity, capacity }
}

/// The hint when no node passes the placement filters: the nodes that
/// could take the pod (those offering its GPU resource, or all), grouped
/// by what blocks them, the group with the fewest blockers named.
fn placement_blockers(pod: &Incoming<'_>, used: &[NodeUse], resource: Option<&str>) -> String {
    let cluster = pod.cluster;
    let offering: Vec<usize> = (0..cluster.nodes.len())
        .filter(|&i| resource.is_none_or(|r| cluster.nodes[i].allocatable.get(r).is_some_and(|v| *v > 0)))
        .collect();
    if let Some(r) = resource
        && offering.is_empty()
    {
        return format!("no node offers {r}");
    }
    let resource_text = resource.map(|r| format!(" offer {r}")).unwrap_or_default();
    let found: Vec<(usize, Blockers)> = offering.iter().map(|&i| (i, blockers(pod, used, i))).collect();
    // Fewest placement filters to relax first, then nodes with room.
    let cost = |b: &Blockers| (usize::from(b.taint.is_some()) + usize::from(b.affinity), b.capacity.is_some());
    let best = found.iter().map(|(_, b)| cost(b)).min().unwrap_or((0, false));
    let chosen: Vec<&(usize, Blockers)> = found.iter().filter(|(_, b)| cost(b) == best).collect();
    let listed: Vec<&str> = chosen.iter().map(|(i, _)| cluster.nodes[*i].name.as_str()).collect();
    let first = &chosen[0].1;
    if first.taint.is_none() && !first.affinity {
        // A spread's topology label missing on the node, say: no
        // placement filter to relax.
        let reasons = first.capacity.as_deref().unwrap_or("another filter");
        let with = resource.map(|r| format!(" with {r}")).unwrap_or_default();
        return format!(
            "{} node(s){with} ({}) pass its taints and node affinity, but not: {reasons}",
            listed.len(),
            names(&listed)
        );
    }
    let what = match (&first.taint, first.affinity) {
        (Some(taint), true) => {
            format!(
                "are ruled out by taints (the pod does not tolerate {taint}) and by its nodeSelector/affinity together"
            )
        }
        (Some(taint), false) => format!("carry a taint the pod does not tolerate ({taint})"),
        (None, _) => "are ruled out by its nodeSelector/affinity".to_string(),
    };
    let relax = match (&first.taint, first.affinity) {
        (Some(_), true) => "relax both",
        (Some(_), false) => "add a toleration for it",
        (None, _) => "allow them in its nodeSelector/affinity",
    };
    let room = match &first.capacity {
        Some(reasons) => format!(", and they lack room too ({reasons}): free capacity there as well"),
        None => String::new(),
    };
    format!("{} node(s){resource_text} ({}), but they {what}; {relax}{room}", listed.len(), names(&listed))
}
