//! Scheduler-faithful placement: the default filter plugins in their order
//! ([`filters`], [`pods`]), a deterministic LeastAllocated choice among
//! feasible nodes, preemption when nothing fits ([`preempt`]), the
//! kubelet's admission for pods pinned with `spec.nodeName` ([`kubelet`]),
//! and the cluster's own messages, worded as the cluster's version words
//! them.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cluster::{Cluster, HostPort};
use crate::group::PodGroup;
use crate::resources::{Resources, is_extended};

pub mod affinity;
pub mod budget;
mod existing;
pub mod filters;
mod hint;
pub mod kubelet;
mod pinned;
pub mod pods;
pub mod preempt;
mod surge;

use affinity::Context;
pub use budget::{Budget, TooLarge};
pub use filters::{Reject, Shortage, fit_message};
use filters::{affinity_matches, prefilter_node_names, shortages, tolerates, unschedulable_taint};
use pods::PodTerms;

pub use crate::cluster::KubeVersion;
use pinned::place_pinned;
pub use surge::{SurgeRefused, place_surge};

/// Capacity in use on one node while placing.
#[derive(Debug, Clone, Default)]
pub struct NodeUse {
    pub requests: Resources,
    pub pods: i64,
    /// Host ports held by the pods on the node (NodeInfo.UsedPorts).
    pub host_ports: Vec<HostPort>,
}

impl NodeUse {
    /// Count one more pod with these requests (the key is cloned only when new).
    /// Sums saturate: quantities come from manifests and dumps (`cpu: 9e18`),
    /// and an overflow must not panic or wrap to "free".
    pub fn add(&mut self, requests: &Resources) {
        for (k, v) in requests {
            if let Some(slot) = self.requests.get_mut(k) {
                *slot = slot.saturating_add(*v);
            } else {
                self.requests.insert(k.clone(), *v);
            }
        }
        self.pods = self.pods.saturating_add(1);
    }

    /// Whether any of `wanted` is taken here (pkg/scheduler/framework/
    /// plugins/nodeports/node_ports.go `fitsPorts`).
    pub fn ports_conflict(&self, wanted: &[HostPort]) -> bool {
        wanted.iter().any(|w| self.host_ports.iter().any(|used| used.conflicts(w)))
    }

    /// Take a pod's host ports off the node (one entry each).
    pub fn release_ports(&mut self, ports: &[HostPort]) {
        for p in ports {
            if let Some(at) = self.host_ports.iter().position(|u| u == p) {
                self.host_ports.swap_remove(at);
            }
        }
    }

    /// Take a pod with these requests off the node.
    pub fn remove(&mut self, requests: &Resources) {
        for (k, v) in requests {
            if let Some(slot) = self.requests.get_mut(k) {
                *slot = slot.saturating_sub(*v);
            }
        }
        self.pods = self.pods.saturating_sub(1);
    }
}

/// Options that change what the scheduler sees and says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Emulate the ExtendedResourceToleration admission plugin: tolerate
    /// taints keyed by the extended resources the pod requests.
    pub extended_resource_toleration: bool,
    /// Whose words the messages use.
    pub kube_version: KubeVersion,
    /// How much placement work is allowed before [`TooLarge`].
    pub budget: Budget,
}

/// Filters skipped when looking for a "would fit if" hint.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Skip {
    pub(crate) taints: bool,
    pub(crate) affinity: bool,
    pub(crate) resources: bool,
}

/// What stays the same for one pod of a group while the pod-dependent
/// counts change (replicas committed, preemption victims tried).
pub(crate) struct PodParts<'a> {
    pub(crate) cluster: &'a Cluster,
    pub(crate) group: &'a PodGroup,
    pub(crate) options: Options,
    pub(crate) prefilter: Option<&'a BTreeSet<String>>,
    pub(crate) host_ports: &'a [HostPort],
}

impl<'a> PodParts<'a> {
    /// The pod with the counts as they are now.
    pub(crate) fn with<'t>(&self, terms: &'t PodTerms) -> Incoming<'t>
    where
        'a: 't,
    {
        Incoming {
            cluster: self.cluster,
            group: self.group,
            options: self.options,
            terms,
            prefilter: self.prefilter,
            host_ports: self.host_ports,
        }
    }
}

/// One pod of a group, ready to be checked against nodes.
pub(crate) struct Incoming<'a> {
    pub(crate) cluster: &'a Cluster,
    pub(crate) group: &'a PodGroup,
    pub(crate) options: Options,
    pub(crate) terms: &'a PodTerms,
    /// NodeAffinity's PreFilter result, when it narrows the nodes.
    pub(crate) prefilter: Option<&'a BTreeSet<String>>,
    /// The host ports the pod asks for (NodePorts).
    pub(crate) host_ports: &'a [HostPort],
}

impl Incoming<'_> {
    /// The per-node filters on node `index`, with `used` in use there.
    pub(crate) fn filter(&self, index: usize, used: &NodeUse, skip: Skip) -> Result<(), Reject> {
        filter(self, index, used, skip)
    }
}

fn filter(pod: &Incoming<'_>, index: usize, used: &NodeUse, skip: Skip) -> Result<(), Reject> {
    let Incoming { cluster, group, options, terms, prefilter, host_ports } = *pod;
    let node = &cluster.nodes[index];
    let spec = &group.spec;
    if !skip.affinity
        && let Some(names) = prefilter
    {
        if names.is_empty() {
            return Err(Reject::PreFilter(filters::NODE_NAMES_CONFLICT.into()));
        }
        if !names.contains(&node.name) {
            return Err(Reject::NotInPreFilter);
        }
    }
    // InterPodAffinity's PreFilter runs after NodeAffinity's
    // (default_plugins.go); a rejection there stops the cycle
    // (runtime/framework.go RunPreFilterPlugins on UnschedulableAndUnresolvable).
    if let Some(message) = terms.parse_error() {
        return Err(Reject::PreFilter(message.to_string()));
    }
    let tolerations = spec.get("tolerations").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    // ExtendedResourceToleration adds `{key: <resource>, operator: Exists}`
    // for every extended resource the pod requests.
    let tolerated = |taint: &crate::cluster::Taint| {
        tolerates(tolerations, taint)
            || options.extended_resource_toleration
                && is_extended(&taint.key)
                && group.requests.contains_key(&taint.key)
    };
    if !skip.taints {
        // NodeUnschedulable (node_unschedulable.go): unless the pod
        // tolerates node.kubernetes.io/unschedulable:NoSchedule.
        if node.unschedulable && !tolerated(&unschedulable_taint()) {
            return Err(Reject::Unschedulable);
        }
        // TaintToleration: NoSchedule and NoExecute (helper.DoNotScheduleTaintsFilterFunc).
        if let Some(t) = node.taints.iter().find(|t| t.effect.blocks_scheduling() && !tolerated(t)) {
            return Err(Reject::Taint(t.clone()));
        }
    }
    if !skip.affinity && !affinity_matches(spec, node) {
        return Err(Reject::Affinity);
    }
    if !skip.resources {
        // NodePorts runs before NodeResourcesFit (default_plugins.go).
        if !host_ports.is_empty() && used.ports_conflict(host_ports) {
            return Err(Reject::Ports);
        }
        let short = shortages(&group.requests, node, &used.requests, used.pods);
        if !short.is_empty() {
            return Err(Reject::Resources(short));
        }
        terms.check(index)?;
    }
    Ok(())
}

/// LeastAllocated on cpu and memory (the default score), ties by node name.
fn score(group: &PodGroup, node: &crate::cluster::Node, used: &NodeUse) -> i64 {
    let free_fraction = |name: &str| {
        let alloc = node.allocatable.get(name).copied().unwrap_or(0);
        if alloc <= 0 {
            return 0;
        }
        // In i128: allocatable up to i64::MAX (`memory: 1e18`) times 100.
        let after = i128::from(alloc)
            - i128::from(used.requests.get(name).copied().unwrap_or(0))
            - i128::from(group.requests.get(name).copied().unwrap_or(0));
        (after.max(0) * 100 / i128::from(alloc)) as i64
    };
    (free_fraction("cpu") + free_fraction("memory")) / 2
}

/// A Warning event the cluster records for the pod, as `kubectl describe
/// pod` lists it (type Warning, reason, from, message).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// `FailedScheduling`, `OutOfnvidia.com/gpu`, …
    pub reason: String,
    /// `default-scheduler` or `kubelet`.
    pub from: String,
    pub message: String,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Warning {} {}: {}", self.reason, self.from, self.message)
    }
}

/// Where one group's replicas went.
#[derive(Debug, Clone, Default)]
pub struct GroupPlacement {
    /// Node of each placed replica.
    pub nodes: Vec<String>,
    pub wanted: u64,
    /// Why the first replica that did not fit did not: the scheduler's
    /// `0/N nodes are available: …` (or the kubelet's rejection).
    pub message: Option<String>,
    /// The whole event as `kubectl describe pod` shows it: the scheduler's
    /// FailedScheduling text with its PostFilter (preemption) part, or
    /// the kubelet's rejection.
    pub event: Option<Event>,
    /// What would make it fit.
    pub hint: Option<String>,
    /// Pods evicted to make room (`namespace/name`).
    pub preempted: Vec<String>,
    /// How many of them a PodDisruptionBudget protects: preemption
    /// evicts them anyway (it prefers nodes where this is 0), but a
    /// voluntary disruption of that workload follows.
    pub pdb_violations: usize,
}

/// The result of placing every group. `before` and `used` are indexed like
/// `Cluster::nodes`.
#[derive(Debug, Clone)]
pub struct Placement {
    pub groups: Vec<GroupPlacement>,
    /// Per node: what bound pods used before placing anything.
    pub before: Vec<NodeUse>,
    /// Per node: what is used once every placed replica is counted (and
    /// preempted pods are gone).
    pub used: Vec<NodeUse>,
    /// Per group: the node index of each placed replica.
    pub placed: Vec<Vec<usize>>,
}

/// What the bound pods use on each node, indexed like `Cluster::nodes`
/// (pods on nodes outside the snapshot are not counted).
pub fn usage(cluster: &Cluster) -> Vec<NodeUse> {
    usage_of(cluster, |_| true)
}

/// [`usage`] of the bound pods `counted` accepts (one namespace's).
pub fn usage_of(cluster: &Cluster, counted: impl Fn(&crate::cluster::BoundPod) -> bool) -> Vec<NodeUse> {
    let index = node_index(cluster);
    let mut used = vec![NodeUse::default(); cluster.nodes.len()];
    for pod in cluster.pods.iter().filter(|p| counted(p)) {
        if let Some(&i) = index.get(pod.node.as_str()) {
            used[i].add(&pod.requests);
        }
    }
    // Host ports, of the few pods that hold any.
    let holding: std::collections::HashMap<(&str, &str), &[HostPort]> = cluster
        .pod_scheduling
        .iter()
        .filter(|(_, s)| !s.host_ports.is_empty())
        .map(|((ns, name), s)| ((ns.as_str(), name.as_str()), s.host_ports.as_slice()))
        .collect();
    if !holding.is_empty() {
        for pod in cluster.pods.iter().filter(|p| counted(p)) {
            if let Some(ports) = holding.get(&(pod.namespace.as_str(), pod.name.as_str()))
                && let Some(&i) = index.get(pod.node.as_str())
            {
                used[i].host_ports.extend(ports.iter().cloned());
            }
        }
    }
    used
}

fn node_index(cluster: &Cluster) -> std::collections::HashMap<&str, usize> {
    cluster.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect()
}

/// "no new claims to deallocate, " before the preemption part: the
/// DynamicResources PostFilter's answer for a pod without claims, on by
/// default since DRA went GA in 1.34
/// (pkg/scheduler/framework/plugins/dynamicresources/dynamicresources.go
/// `PostFilter`; as in the events of 1.34/1.35 clusters: "… taint {…}. no
/// new claims to deallocate, preemption: 0/1 nodes are available: …").
fn postfilter_text(version: KubeVersion, preemption: &preempt::NoPreemption) -> String {
    if version.minor >= 34 { format!("no new claims to deallocate, {preemption}") } else { preemption.to_string() }
}

/// Place all replicas of all groups, in order, on top of the pods already
/// bound; [`TooLarge`] before anything is placed when that is more work
/// than `options.budget` allows, or when preemption runs past it.
pub fn place(cluster: &Cluster, groups: &[PodGroup], options: Options) -> Result<Placement, TooLarge> {
    let mut meter = budget::size(cluster, groups, options.budget)?;
    let mut used = usage(cluster);
    let before = used.clone();
    let index = node_index(cluster);
    let mut pods_by_node = vec![Vec::new(); cluster.nodes.len()];
    for (p, pod) in cluster.pods.iter().enumerate() {
        if let Some(&i) = index.get(pod.node.as_str()) {
            pods_by_node[i].push(p);
        }
    }
    let mut removed = vec![false; cluster.pods.len()];
    let mut placed: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    let mut ctx = Context::new(cluster, groups);
    warn_without_namespaces(&ctx, groups);
    let mut placements = Vec::with_capacity(groups.len());
    for (g, group) in groups.iter().enumerate() {
        let mut placement = GroupPlacement::default();
        if let Some(pinned) = group.pinned_node() {
            placement.wanted = group.replicas;
            place_pinned(cluster, group, pinned, &index, &mut used, &mut placed[g], &mut placement);
            placements.push(placement);
            continue;
        }
        let mut terms = PodTerms::build(cluster, groups, g, &placed, &mut ctx);
        let prefilter = prefilter_node_names(&group.spec);
        let host_ports = group_host_ports(group);
        let parts = PodParts { cluster, group, options, prefilter: prefilter.as_ref(), host_ports: &host_ports };
        if group.per_node {
            let on = place_per_node(&parts, &mut terms, &mut used, &mut placement);
            placed[g].extend(on);
            placements.push(placement);
            continue;
        }
        placement.wanted = group.replicas;
        for _ in 0..group.replicas {
            let rejects = match choose(&parts.with(&terms), &used) {
                Ok(i) => {
                    commit(&mut used[i], group, &host_ports);
                    terms.commit(i);
                    placed[g].push(i);
                    placement.nodes.push(cluster.nodes[i].name.clone());
                    continue;
                }
                Err(rejects) => rejects,
            };
            meter.preemption(cluster)?;
            match preempt::preempt(&parts, &mut terms, &ctx, &used, &rejects, &pods_by_node, &removed) {
                Ok(p) => {
                    for &v in &p.victims {
                        evict(cluster, v, p.node, &mut used[p.node], &mut terms, &mut ctx);
                        removed[v] = true;
                        placement.preempted.push(format!("{}/{}", cluster.pods[v].namespace, cluster.pods[v].name));
                    }
                    placement.pdb_violations += p.pdb_violations;
                    commit(&mut used[p.node], group, &host_ports);
                    terms.commit(p.node);
                    placed[g].push(p.node);
                    placement.nodes.push(cluster.nodes[p.node].name.clone());
                }
                Err(post) => {
                    unschedulable(&parts.with(&terms), &used, &rejects, &post, &mut placement);
                    break;
                }
            }
        }
        placements.push(placement);
    }
    Ok(Placement { groups: placements, before, used, placed })
}

/// The replica fits nowhere, even by preemption: the scheduler's
/// FailedScheduling message and event, and a hint.
fn unschedulable(
    pod: &Incoming<'_>,
    used: &[NodeUse],
    rejects: &[(usize, Reject)],
    post: &preempt::NoPreemption,
    placement: &mut GroupPlacement,
) {
    let version = pod.options.kube_version.wording();
    let only: Vec<Reject> = rejects.iter().map(|(_, r)| r.clone()).collect();
    let message = fit_message(pod.cluster.nodes.len(), &only, version);
    placement.event = Some(Event {
        reason: "FailedScheduling".into(),
        from: "default-scheduler".into(),
        message: format!("{message} {}", postfilter_text(version, post)),
    });
    placement.message = Some(message);
    placement.hint = hint::hint(pod, used, rejects);
}

/// A DaemonSet's pods, one per node it may run on: only capacity can then
/// stop one. The nodes it lands on, in order.
fn place_per_node(
    parts: &PodParts<'_>,
    terms: &mut PodTerms,
    used: &mut [NodeUse],
    placement: &mut GroupPlacement,
) -> Vec<usize> {
    let (cluster, group) = (parts.cluster, parts.group);
    let version = parts.options.kube_version.wording();
    let mut on = Vec::new();
    for (i, node_use) in used.iter_mut().enumerate() {
        match parts.with(terms).filter(i, node_use, Skip::default()) {
            Ok(()) => {
                placement.wanted += 1;
                commit(node_use, group, parts.host_ports);
                // Later nodes see this pod (a DaemonSet's own spread or anti-affinity).
                terms.commit(i);
                on.push(i);
                placement.nodes.push(cluster.nodes[i].name.clone());
            }
            Err(reject @ Reject::Resources(_)) => {
                placement.wanted += 1;
                if placement.message.is_none() {
                    placement.message = Some(format!(
                        "DaemonSet pod for node {} does not fit: {}",
                        cluster.nodes[i].name,
                        fit_message(1, &[reject], version)
                    ));
                }
            }
            Err(_) => {}
        }
    }
    on
}

/// Take preempted pod `v` off `node` for good: its capacity, host ports
/// and its part in the pod-dependent counts of this group and of groups
/// placed later.
fn evict(cluster: &Cluster, v: usize, node: usize, used: &mut NodeUse, terms: &mut PodTerms, ctx: &mut Context<'_>) {
    let pod = &cluster.pods[v];
    used.remove(&pod.requests);
    let scheduling = cluster.scheduling_of(pod);
    if let Some(s) = scheduling {
        used.release_ports(&s.host_ports);
    }
    if terms.depends_on_pods() {
        let anti: Vec<Value> = scheduling.map(|s| s.anti_affinity.terms()).unwrap_or_default();
        let labels = ctx.labels_of(v).cloned().unwrap_or_else(|| pod.labels.parse());
        let victim = affinity::Victim {
            namespace: &pod.namespace,
            name: &pod.name,
            labels: &labels,
            node,
            anti_affinity: &anti,
        };
        terms.adjust(&victim, -1);
    }
    ctx.remove(v);
}

/// Said once per placement: a `namespaceSelector` is matched against each
/// namespace's `kubernetes.io/metadata.name` label only when the snapshot
/// holds no Namespace objects (a `kubectl get nodes,pods -A` dump).
fn warn_without_namespaces(ctx: &Context<'_>, groups: &[PodGroup]) {
    if ctx.lacks_namespace_labels(groups) {
        tracing::warn!(
            source = %ctx.cluster.source,
            "the snapshot holds no Namespace objects: pod affinity namespaceSelectors are matched against each namespace's kubernetes.io/metadata.name label only (add namespaces to the dump: kubectl get nodes,pods,namespaces -A -o json)"
        );
    }
}

/// Count one more pod of `group`, holding `host_ports`, on a node.
pub fn commit(used: &mut NodeUse, group: &PodGroup, host_ports: &[HostPort]) {
    used.add(&group.requests);
    used.host_ports.extend(host_ports.iter().cloned());
}

/// The host ports one pod of `group` asks for; the containers are read
/// again only when their text names one.
fn group_host_ports(group: &PodGroup) -> Vec<HostPort> {
    if group.containers.contains("hostPort") { crate::cluster::host_ports(&group.pod_spec()) } else { Vec::new() }
}

/// The index of the best feasible node, or every node's rejection (by node index).
fn choose(pod: &Incoming<'_>, used: &[NodeUse]) -> Result<usize, Vec<(usize, Reject)>> {
    let mut best: Option<(i64, usize)> = None;
    let mut rejects = Vec::new();
    for (i, u) in used.iter().enumerate() {
        match pod.filter(i, u, Skip::default()) {
            Ok(()) => {
                let s = score(pod.group, &pod.cluster.nodes[i], u);
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, i));
                }
            }
            Err(r) => rejects.push((i, r)),
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
            Some((n.name.clone(), alloc.saturating_sub(u.requests.get(resource).copied().unwrap_or(0))))
        })
        .collect()
}

#[cfg(test)]
mod tests;
