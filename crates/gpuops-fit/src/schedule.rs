//! Scheduler-faithful placement: the default filter plugins in their order
//! (NodeName, NodeUnschedulable, TaintToleration, NodeAffinity,
//! NodeResourcesFit), a deterministic LeastAllocated choice among feasible
//! nodes, and the scheduler's own failure message.

use std::collections::BTreeMap;

use serde_json::Value;

use super::cluster::{Cluster, Node, Taint};
use super::resources::{Resources, display, is_extended};
use super::workloads::PodGroup;

/// Why a node cannot take a pod, in kube-scheduler's words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reject {
    NodeName,
    Unschedulable,
    Taint(String),
    Affinity,
    TooManyPods,
    Insufficient(Vec<String>),
}

impl Reject {
    fn reasons(&self) -> Vec<String> {
        match self {
            Self::NodeName => vec!["node(s) didn't match the requested node name".into()],
            Self::Unschedulable => vec!["node(s) were unschedulable".into()],
            Self::Taint(t) => vec![format!("node(s) had untolerated taint {t}")],
            Self::Affinity => vec!["node(s) didn't match Pod's node affinity/selector".into()],
            Self::TooManyPods => vec!["Too many pods".into()],
            Self::Insufficient(names) => names.iter().map(|n| format!("Insufficient {n}")).collect(),
        }
    }
}

/// `0/5 nodes are available: 3 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint {…}.`
pub fn fit_message(total: usize, rejects: &[Reject]) -> String {
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    for r in rejects {
        for reason in r.reasons() {
            *histogram.entry(reason).or_insert(0) += 1;
        }
    }
    let mut parts: Vec<String> = histogram.into_iter().map(|(reason, n)| format!("{n} {reason}")).collect();
    parts.sort();
    format!("0/{total} nodes are available: {}.", parts.join(", "))
}

fn tolerates(tolerations: &[Value], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
        let effect_ok = s("effect").is_empty() || s("effect") == taint.effect;
        let key_ok = s("key").is_empty() && s("operator") == "Exists" || s("key") == taint.key;
        let value_ok = s("operator") == "Exists" || s("value") == taint.value;
        effect_ok && key_ok && value_ok
    })
}

fn expression_matches(expr: &Value, labels: &BTreeMap<String, String>) -> bool {
    let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
    let values: Vec<&str> = expr
        .get("values")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let label = labels.get(key);
    match expr.get("operator").and_then(Value::as_str).unwrap_or("") {
        "In" => label.is_some_and(|l| values.contains(&l.as_str())),
        "NotIn" => label.is_none_or(|l| !values.contains(&l.as_str())),
        "Exists" => label.is_some(),
        "DoesNotExist" => label.is_none(),
        "Gt" => label
            .and_then(|l| l.parse::<i64>().ok())
            .zip(values.first().and_then(|v| v.parse::<i64>().ok()))
            .is_some_and(|(l, v)| l > v),
        "Lt" => label
            .and_then(|l| l.parse::<i64>().ok())
            .zip(values.first().and_then(|v| v.parse::<i64>().ok()))
            .is_some_and(|(l, v)| l < v),
        _ => false,
    }
}

fn affinity_matches(spec: &Value, node: &Node) -> bool {
    if let Some(Value::Object(selector)) = spec.get("nodeSelector")
        && !selector.iter().all(|(k, v)| node.labels.get(k).map(String::as_str) == v.as_str())
    {
        return false;
    }
    let Some(terms) = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
    else {
        return true;
    };
    terms.iter().any(|term| {
        let exprs = term.get("matchExpressions").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let fields = term.get("matchFields").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        (!exprs.is_empty() || !fields.is_empty())
            && exprs.iter().all(|e| expression_matches(e, &node.labels))
            && (fields.is_empty() || {
                let name_labels = BTreeMap::from([("metadata.name".to_string(), node.name.clone())]);
                fields.iter().all(|e| expression_matches(e, &name_labels))
            })
    })
}

/// Capacity in use on one node while placing.
#[derive(Debug, Clone, Default)]
pub struct NodeUse {
    pub requests: Resources,
    pub pods: i64,
}

/// Which filters to relax when looking for a "would fit if" hint.
#[derive(Debug, Clone, Copy, Default)]
struct Relax {
    taints: bool,
    affinity: bool,
    resources: bool,
}

/// Options that change what the scheduler sees.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Emulate the ExtendedResourceToleration admission plugin: tolerate
    /// taints keyed by the extended resources the pod requests.
    pub extended_resource_toleration: bool,
}

/// The taint a cordoned node behaves as if it had.
fn unschedulable_taint() -> Taint {
    Taint { key: "node.kubernetes.io/unschedulable".into(), value: String::new(), effect: "NoSchedule".into() }
}

fn check(group: &PodGroup, node: &Node, used: &NodeUse, options: Options, relax: Relax) -> Result<(), Reject> {
    let spec = &group.spec;
    if let Some(name) = spec.get("nodeName").and_then(Value::as_str).filter(|n| !n.is_empty())
        && name != node.name
    {
        return Err(Reject::NodeName);
    }
    let tolerations = spec.get("tolerations").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    // ExtendedResourceToleration adds `{key: <resource>, operator: Exists}`
    // for every extended resource the pod requests.
    let tolerated = |taint: &Taint| {
        tolerates(tolerations, taint)
            || options.extended_resource_toleration
                && is_extended(&taint.key)
                && group.requests.contains_key(&taint.key)
    };
    if node.unschedulable && !relax.taints && !tolerated(&unschedulable_taint()) {
        return Err(Reject::Unschedulable);
    }
    if !relax.taints
        && let Some(t) =
            node.taints.iter().find(|t| (t.effect == "NoSchedule" || t.effect == "NoExecute") && !tolerated(t))
    {
        return Err(Reject::Taint(t.describe()));
    }
    if !relax.affinity && !affinity_matches(spec, node) {
        return Err(Reject::Affinity);
    }
    if relax.resources {
        return Ok(());
    }
    let max_pods = node.allocatable.get("pods").copied().unwrap_or(110);
    let mut insufficient = Vec::new();
    if used.pods + 1 > max_pods {
        return Err(Reject::TooManyPods);
    }
    for (name, want) in &group.requests {
        if *want == 0 {
            continue;
        }
        let have = node.allocatable.get(name).copied().unwrap_or(0) - used.requests.get(name).copied().unwrap_or(0);
        if have < *want {
            insufficient.push(name.clone());
        }
    }
    if insufficient.is_empty() { Ok(()) } else { Err(Reject::Insufficient(insufficient)) }
}

/// LeastAllocated on cpu and memory (the default score), ties by node name.
fn score(group: &PodGroup, node: &Node, used: &NodeUse) -> i64 {
    let free_fraction = |name: &str| {
        let alloc = node.allocatable.get(name).copied().unwrap_or(0);
        if alloc <= 0 {
            return 0;
        }
        let after =
            alloc - used.requests.get(name).copied().unwrap_or(0) - group.requests.get(name).copied().unwrap_or(0);
        after.max(0) * 100 / alloc
    };
    (free_fraction("cpu") + free_fraction("memory")) / 2
}

/// Where one group's replicas went.
#[derive(Debug, Clone, Default)]
pub struct GroupPlacement {
    /// Node of each placed replica.
    pub nodes: Vec<String>,
    pub wanted: u64,
    /// The scheduler's message for the first replica that did not fit.
    pub message: Option<String>,
    /// What would make it fit.
    pub hint: Option<String>,
}

/// The result of placing every group. `before` and `used` are indexed like
/// `Cluster::nodes`.
#[derive(Debug, Clone)]
pub struct Placement {
    pub groups: Vec<GroupPlacement>,
    /// Per node: what bound pods used before placing anything.
    pub before: Vec<NodeUse>,
    /// Per node: what is used once every placed replica is counted.
    pub used: Vec<NodeUse>,
}

/// What the bound pods use on each node, indexed like `Cluster::nodes`
/// (pods on nodes outside the snapshot are not counted).
pub fn usage(cluster: &Cluster) -> Vec<NodeUse> {
    let index: std::collections::HashMap<&str, usize> =
        cluster.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let mut used = vec![NodeUse::default(); cluster.nodes.len()];
    for pod in &cluster.pods {
        if let Some(&i) = index.get(pod.node.as_str()) {
            let u = &mut used[i];
            for (k, v) in &pod.requests {
                if let Some(slot) = u.requests.get_mut(k) {
                    *slot += v;
                } else {
                    u.requests.insert(k.clone(), *v);
                }
            }
            u.pods += 1;
        }
    }
    used
}

/// Place all replicas of all groups, in order, on top of the pods already bound.
pub fn place(cluster: &Cluster, groups: &[PodGroup], options: Options) -> Placement {
    let mut used = usage(cluster);
    let before = used.clone();
    let mut placements = Vec::with_capacity(groups.len());
    for group in groups {
        let mut placement = GroupPlacement::default();
        if group.per_node {
            for (i, node) in cluster.nodes.iter().enumerate() {
                // A DaemonSet wants a pod on every node it may run on; only
                // capacity can then stop it.
                match check(group, node, &used[i], options, Relax::default()) {
                    Ok(()) => {
                        placement.wanted += 1;
                        commit(&mut used[i], group);
                        placement.nodes.push(node.name.clone());
                    }
                    Err(reject @ (Reject::Insufficient(_) | Reject::TooManyPods)) => {
                        placement.wanted += 1;
                        if placement.message.is_none() {
                            placement.message = Some(format!(
                                "DaemonSet pod for node {} does not fit: {}",
                                node.name,
                                fit_message(1, &[reject])
                            ));
                        }
                    }
                    Err(_) => {}
                }
            }
        } else {
            placement.wanted = group.replicas;
            for _ in 0..group.replicas {
                match choose(cluster, group, &used, options) {
                    Ok(i) => {
                        commit(&mut used[i], group);
                        placement.nodes.push(cluster.nodes[i].name.clone());
                    }
                    Err(rejects) => {
                        placement.message = Some(fit_message(cluster.nodes.len(), &rejects));
                        placement.hint = hint(cluster, group, &used, options);
                        break;
                    }
                }
            }
        }
        placements.push(placement);
    }
    Placement { groups: placements, before, used }
}

/// Count one more pod of `group` on a node.
pub fn commit(used: &mut NodeUse, group: &PodGroup) {
    for (k, v) in &group.requests {
        if let Some(slot) = used.requests.get_mut(k) {
            *slot += v;
        } else {
            used.requests.insert(k.clone(), *v);
        }
    }
    used.pods += 1;
}

/// The index of the best feasible node, or every node's rejection.
pub fn choose(cluster: &Cluster, group: &PodGroup, used: &[NodeUse], options: Options) -> Result<usize, Vec<Reject>> {
    let mut best: Option<(i64, usize)> = None;
    let mut rejects = Vec::new();
    for (i, (node, u)) in cluster.nodes.iter().zip(used).enumerate() {
        match check(group, node, u, options, Relax::default()) {
            Ok(()) => {
                let s = score(group, node, u);
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, i));
                }
            }
            Err(r) => rejects.push(r),
        }
    }
    best.map(|(_, i)| i).ok_or(rejects)
}

/// Free amount of `resource` per node that has it.
pub fn free_per_node(cluster: &Cluster, used: &[NodeUse], resource: &str) -> Vec<(String, i64)> {
    cluster
        .nodes
        .iter()
        .zip(used)
        .filter_map(|(n, u)| {
            let alloc = *n.allocatable.get(resource)?;
            Some((n.name.clone(), alloc - u.requests.get(resource).copied().unwrap_or(0)))
        })
        .collect()
}

fn hint(cluster: &Cluster, group: &PodGroup, used: &[NodeUse], options: Options) -> Option<String> {
    let feasible_with = |relax: Relax| {
        cluster.nodes.iter().zip(used).filter(|(n, u)| check(group, n, u, options, relax).is_ok()).count()
    };
    let taints = feasible_with(Relax { taints: true, ..Relax::default() });
    if taints > 0 {
        let taint = cluster
            .nodes
            .iter()
            .zip(used)
            .find(|(n, u)| check(group, n, u, options, Relax { taints: true, ..Relax::default() }).is_ok())
            .and_then(|(n, _)| n.taints.first())
            .map_or_else(
                || "node.kubernetes.io/unschedulable".to_string(),
                |t| format!("{}={}:{}", t.key, t.value, t.effect),
            );
        return Some(format!("would fit on {taints} node(s) if the pod tolerated {taint}"));
    }
    let affinity = feasible_with(Relax { affinity: true, ..Relax::default() });
    if affinity > 0 {
        return Some(format!("would fit on {affinity} node(s) if its nodeSelector/affinity allowed them"));
    }
    let gpus = group.gpus();
    if let (Some(pinned), Some(resource)) = (group.spec.get("nodeName").and_then(Value::as_str), group.gpu_resource()) {
        if let Some((node, u)) = cluster.nodes.iter().zip(used).find(|(n, _)| n.name == pinned) {
            let alloc = node.allocatable.get(resource).copied().unwrap_or(0);
            let free = alloc - u.requests.get(resource).copied().unwrap_or(0);
            return Some(format!(
                "pinned to {pinned} (spec.nodeName), which has {alloc} {resource} ({free} free); the pod asks for {gpus}: pin it to a node with {gpus} free or ask for fewer"
            ));
        }
        return Some(format!("pinned to {pinned} (spec.nodeName), which is not in the cluster"));
    }
    if let Some(resource) = group.gpu_resource() {
        let eligible: Vec<String> = cluster
            .nodes
            .iter()
            .zip(used)
            .filter(|(n, u)| check(group, n, u, options, Relax { resources: true, ..Relax::default() }).is_ok())
            .map(|(n, _)| n.name.clone())
            .collect();
        let free: Vec<(String, i64)> =
            free_per_node(cluster, used, resource).into_iter().filter(|(n, _)| eligible.contains(n)).collect();
        let total: i64 = free.iter().map(|(_, f)| f.max(&0)).sum();
        let (best_node, best) =
            free.iter().max_by_key(|(n, f)| (*f, std::cmp::Reverse(n.clone()))).cloned().unwrap_or_default();
        if eligible.is_empty() {
            return Some(format!("no node offers {resource}"));
        }
        return Some(if total >= gpus {
            format!(
                "would fit if {gpus} {resource} were free on one node: {total} free on eligible nodes, at most {best} on one ({best_node}) — fragmentation"
            )
        } else {
            format!(
                "would fit if {} more {resource} were free on an eligible node ({total} free in all, at most {best} on one)",
                gpus - best
            )
        });
    }
    let short: Vec<String> = group.requests.iter().map(|(k, v)| format!("{k}={}", display(k, *v))).collect();
    Some(format!("would fit on a node with {} free", short.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::{PodGroup, Rollout};
    use serde_json::json;

    fn node(name: &str, gpus: i64, taint: Option<(&str, &str)>) -> Node {
        Node {
            name: name.into(),
            labels: BTreeMap::from([("nvidia.com/gpu.product".into(), "NVIDIA-L4".into())]),
            taints: taint
                .map(|(k, v)| vec![Taint { key: k.into(), value: v.into(), effect: "NoSchedule".into() }])
                .unwrap_or_default(),
            unschedulable: false,
            allocatable: Resources::from([
                ("cpu".into(), 32000),
                ("memory".into(), 128 << 30),
                ("pods".into(), 110),
                ("nvidia.com/gpu".into(), gpus),
            ]),
        }
    }

    fn group(gpus: i64, replicas: u64, spec: Value) -> PodGroup {
        PodGroup {
            workload: "Deployment/ns/x".into(),
            role: String::new(),
            replicas,
            per_node: false,
            spec,
            requests: Resources::from([("cpu".into(), 1000), ("nvidia.com/gpu".into(), gpus)]),
            rollout: Rollout::default(),
            engine: None,
        }
    }

    #[test]
    fn scheduler_message_and_fragmentation_hint() {
        let cluster = Cluster {
            source: "t".into(),
            nodes: vec![
                node("a", 4, None),
                node("b", 4, None),
                node("c", 8, Some(("nvidia.com/gpu", "present"))),
                node("d", 0, None),
            ],
            pods: vec![],
        };
        let p = place(&cluster, &[group(3, 2, json!({})), group(2, 1, json!({}))], Options::default());
        assert_eq!(p.groups[0].nodes.len(), 2);
        assert_eq!(p.groups[1].nodes.len(), 0);
        assert_eq!(
            p.groups[1].message.as_deref(),
            Some(
                "0/4 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}, 3 Insufficient nvidia.com/gpu."
            )
        );
        assert_eq!(
            p.groups[1].hint.as_deref(),
            Some("would fit on 1 node(s) if the pod tolerated nvidia.com/gpu=present:NoSchedule")
        );

        let tolerant =
            json!({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]});
        let p = place(&cluster, &[group(3, 3, tolerant.clone()), group(6, 1, tolerant)], Options::default());
        assert_eq!(
            p.groups[0].nodes,
            ["a", "b", "c"].map(String::from).to_vec(),
            "LeastAllocated cpu/memory, then name"
        );
        let hint = p.groups[1].hint.clone().unwrap();
        assert!(hint.contains("7 free on eligible nodes, at most 5 on one (c)"), "{hint}");
    }

    #[test]
    fn affinity_node_name_cordon_and_ert() {
        let mut n = node("a", 1, Some(("nvidia.com/gpu", "present")));
        let cluster = Cluster { source: "t".into(), nodes: vec![n.clone()], pods: vec![] };
        let p = place(&cluster, &[group(1, 1, json!({}))], Options { extended_resource_toleration: true });
        assert_eq!(p.groups[0].nodes.len(), 1, "ExtendedResourceToleration tolerates nvidia.com/gpu taints");
        n.taints.clear();
        n.unschedulable = true;
        let cordoned = Cluster { source: "t".into(), nodes: vec![n], pods: vec![] };
        let p = place(&cordoned, &[group(1, 1, json!({}))], Options::default());
        assert_eq!(p.groups[0].message.as_deref(), Some("0/1 nodes are available: 1 node(s) were unschedulable."));
        let affinity = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-H100-80GB-HBM3"]}]}]}}}});
        let p = place(&cluster, &[group(1, 1, affinity)], Options { extended_resource_toleration: true });
        assert_eq!(
            p.groups[0].message.as_deref(),
            Some("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")
        );
        let pinned = json!({"nodeName": "elsewhere", "tolerations": [{"operator": "Exists"}]});
        let p = place(&cluster, &[group(1, 1, pinned)], Options::default());
        assert!(p.groups[0].message.as_deref().unwrap().contains("didn't match the requested node name"));
    }
}
