//! "Would fit if" hints. A hint names the filter that really blocks: it is
//! derived from the rejections the scheduler gave and re-checks the nodes
//! with one filter relaxed, so it never says "fragmentation" while the
//! blocker is cpu, nor "no node offers nvidia.com/gpu" while a selector
//! rules the GPU nodes out.

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
        let Some(resource) = resource else {
            return Some("no node passes its taints and node affinity together; relax both".to_string());
        };
        let offering: Vec<&str> = cluster
            .nodes
            .iter()
            .filter(|n| n.allocatable.get(resource).is_some_and(|v| *v > 0))
            .map(|n| n.name.as_str())
            .collect();
        if offering.is_empty() {
            return Some(format!("no node offers {resource}"));
        }
        return Some(format!(
            "{} node(s) offer {resource} ({}), but each is ruled out by taints and node affinity together; relax both",
            offering.len(),
            names(&offering)
        ));
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
