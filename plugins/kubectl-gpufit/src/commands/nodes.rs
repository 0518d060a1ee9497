//! `nodes`: the GPU inventory of each cluster — product, memory,
//! allocatable, used and free per node and GPU resource.

use gpuops_fit::workloads::is_gpu;
use gpuops_model::catalog::gpu_of_labels;
use gpuops_schedule::cluster::{Cluster, Node};
use gpuops_schedule::scheduler::{usage, usage_of};

use super::cluster::clusters;
use crate::cli::{GroupBy, NodesArgs};
use crate::render::{self, AllocationRow, NamespaceUse, NodeRow, Part};
use crate::{Error, ExitCode};

pub(crate) fn nodes(args: &NodesArgs) -> Result<ExitCode, Error> {
    args.output.quiet_progress();
    let clusters = clusters(&args.cluster, false)?;
    let namespace = args.cluster.namespace.as_deref().filter(|_| !args.all_namespaces);
    if !args.group_by.is_empty() {
        let rows: Vec<AllocationRow> =
            clusters.iter().flat_map(|c| allocations(c, &args.group_by, namespace, clusters.len() > 1)).collect();
        render::emit(&render::allocations(&rows, &args.output)?)?;
        forget(clusters);
        return Ok(ExitCode::Success);
    }
    let rows: Vec<NodeRow> = clusters.iter().flat_map(|c| inventory(c, namespace)).collect();
    render::emit(&render::nodes(&rows, namespace, &args.output)?)?;
    forget(clusters);
    Ok(ExitCode::Success)
}

/// Leave the snapshots to the process's exit: freeing 60,000 pods' maps
/// one by one took about 2% of a `nodes` run (callgrind, 44 M of 2.5 G
/// instructions) for memory the exit returns at once.
fn forget(clusters: Vec<Cluster>) {
    std::mem::forget(clusters);
}

/// One row per node and GPU resource; with `namespace`, also what that
/// namespace's pods use on each node (`usedByNamespace`, table column
/// `USED(NS)`), as `kubectl-view-allocations -n` scopes its usage.
/// Placement is not scoped: every namespace's pods take GPUs.
fn inventory(cluster: &Cluster, namespace: Option<&str>) -> Vec<NodeRow> {
    let used = usage(cluster);
    let scoped = namespace.map(|ns| (ns, usage_of(cluster, |p| p.namespace == ns)));
    let mut rows = Vec::new();
    for (i, (node, used)) in cluster.nodes.iter().zip(&used).enumerate() {
        let gpu = gpu_of_labels(&node.labels);
        let taints: Vec<String> = node.taints.iter().map(|t| format!("{}={}:{}", t.key, t.value, t.effect)).collect();
        for (resource, &allocatable) in node.allocatable.iter().filter(|(k, _)| is_gpu(k)) {
            let in_use = used.requests.get(resource).copied().unwrap_or(0);
            rows.push(NodeRow {
                cluster: cluster.source.clone(),
                node: node.name.clone(),
                product: gpu.as_ref().map_or_else(|| "-".to_string(), |g| g.label.clone()),
                memory_mib: gpu.as_ref().map(|g| g.label_mib),
                cuda_memory_gib: gpu.as_ref().map(|g| (g.total_gib * 100.0).round() / 100.0),
                resource: resource.clone(),
                allocatable,
                used: in_use,
                free: allocatable - in_use,
                sharing: sharing(node),
                unschedulable: node.unschedulable,
                taints: taints.clone(),
                namespace: scoped.as_ref().map(|(ns, scoped)| NamespaceUse {
                    namespace: (*ns).to_string(),
                    used_by_namespace: scoped[i].requests.get(resource).copied().unwrap_or(0),
                }),
            });
        }
    }
    rows
}

/// GPU sharing as the NVIDIA GPU operator labels it: a strategy
/// (time-slicing, mps) with its replicas, or replicas alone.
fn sharing(node: &Node) -> String {
    match (node.labels.get("nvidia.com/gpu.sharing-strategy"), node.labels.get("nvidia.com/gpu.replicas")) {
        (Some(s), Some(r)) if s != "none" => format!("{s} x{r}"),
        (None, Some(r)) if r != "1" => format!("x{r}"),
        _ => "-".into(),
    }
}

/// How a GPU resource is offered, shown apart because a slice or a shared
/// replica is not a GPU: MIG (`nvidia.com/mig-<profile>`, the device
/// plugin's mixed strategy), shared (the GPU operator's time-slicing or MPS
/// labels, or a `.shared` resource renamed by `renameByDefault`), or whole.
fn offering(resource: &str, node: &Node) -> String {
    if let Some(profile) = resource.strip_prefix("nvidia.com/mig-") {
        return format!("mig {profile}");
    }
    match sharing(node) {
        s if s != "-" => format!("shared {s}"),
        _ if resource.ends_with(".shared") => "shared".into(),
        _ => "whole".into(),
    }
}

/// A group's running totals.
#[derive(Default)]
struct Tally {
    requested: i64,
    /// `None` for groups of pods (namespace, pod) that span nodes partly.
    allocatable: Option<i64>,
}

/// What the grouping needs of one node, worked out once for all its pods:
/// its GPU product (only when grouped by it) and how each of its GPU
/// resources is offered.
struct Known<'a> {
    node: &'a Node,
    product: String,
    offerings: Vec<(&'a str, String)>,
}

/// kubectl-view-allocations' grouping (davidB/kubectl-view-allocations
/// src/lib.rs `make_qualifiers`/`display_with_prettytable`; README "Group by
/// namespaces"): a row per GPU resource, then per group of `levels` in
/// order, each summing the requests under it; groups made of whole nodes
/// (node, gpu-product) also show allocatable, the percentages of it and
/// free = allocatable − max(requested, limit). Nodes without any use are
/// listed, pods without GPUs are not (its default without `-z`).
///
/// Limits equal requests for GPUs: an extended resource cannot be
/// overcommitted, so the API server refuses a request that differs from
/// the limit (kubernetes pkg/apis/core/validation/validation.go,
/// `ValidateResourceRequirements`: "must be equal to ... limit"); the limit
/// column is kept because users of the peer read it.
///
/// Cheap per pod (issue 21: `-g pod` within 1.2x of `nodes` on 60,000
/// pods): groups are kept per resource and offering ([`Groups`]), their
/// paths borrow the cluster's strings ([`Part`]) and are built in one
/// reused buffer, a node's product and offerings are worked out once, and
/// a pod without GPUs is dropped before its node is looked up.
fn allocations(cluster: &Cluster, levels: &[GroupBy], namespace: Option<&str>, fleet: bool) -> Vec<AllocationRow> {
    use std::collections::HashMap;
    let products = levels.contains(&GroupBy::GpuProduct);
    let known: Vec<Known<'_>> = cluster
        .nodes
        .iter()
        .map(|node| Known {
            node,
            product: if products {
                gpu_of_labels(&node.labels).map_or_else(|| "-".to_string(), |g| g.label)
            } else {
                String::new()
            },
            offerings: node.allocatable.keys().filter(|k| is_gpu(k)).map(|r| (r.as_str(), offering(r, node))).collect(),
        })
        .collect();
    let mut groups = Groups::new();
    let mut path: Vec<Part<'_>> = Vec::with_capacity(levels.len());
    // Node-made groups get their allocatable first, so that idle nodes show.
    for k in &known {
        for (resource, offered) in &k.offerings {
            let allocatable = k.node.allocatable.get(*resource).copied();
            let under = groups.entry((Part::from(*resource), Part::from(offered.as_str()))).or_default();
            path.clear();
            add(under, &path, 0, allocatable);
            for level in levels.iter().take_while(|l| l.of_nodes()) {
                path.push(Part::from(if *level == GroupBy::Node { k.node.name.as_str() } else { k.product.as_str() }));
                add(under, &path, 0, allocatable);
            }
        }
    }
    let by_name: HashMap<&str, &Known<'_>> = known.iter().map(|k| (k.node.name.as_str(), k)).collect();
    for pod in cluster.pods.iter().filter(|p| namespace.is_none_or(|ns| p.namespace == ns)) {
        let mut gpus = pod.requests.iter().filter(|(k, v)| **v > 0 && is_gpu(k)).peekable();
        if gpus.peek().is_none() {
            continue;
        }
        let Some(k) = by_name.get(pod.node.as_str()) else { continue };
        for (resource, &requested) in gpus {
            let offered = match k.offerings.iter().find(|(r, _)| r == resource) {
                Some((_, o)) => Part::from(o.as_str()),
                // A resource the node does not offer (a dump can say so).
                None => Part::Text(offering(resource, k.node).into()),
            };
            let under = groups.entry((Part::from(resource.as_str()), offered)).or_default();
            path.clear();
            add(under, &path, requested, None);
            for level in levels {
                path.push(match level {
                    GroupBy::Node => Part::from(k.node.name.as_str()),
                    GroupBy::GpuProduct => Part::from(k.product.as_str()),
                    GroupBy::Namespace => Part::from(pod.namespace.as_str()),
                    GroupBy::Pod => Part::Pod { namespace: &pod.namespace, name: &pod.name },
                });
                add(under, &path, requested, None);
            }
        }
    }
    let source = fleet.then(|| cluster.source.clone());
    let mut rows = Vec::new();
    for ((resource, offered), under) in groups {
        rows.extend(under.into_iter().map(|(path, tally)| {
            let group = (&resource, &offered, path.as_slice());
            AllocationRow::new(group, levels, tally.requested, tally.allocatable, source.clone())
        }));
    }
    rows
}

/// The groups under each GPU resource and offering, by their values of the
/// levels (none for the resource's own row, which sorts first): their
/// order is the rows', and a lookup compares only the levels' values.
type Groups<'a> = std::collections::BTreeMap<(Part<'a>, Part<'a>), std::collections::BTreeMap<Vec<Part<'a>>, Tally>>;

/// Count `requested` (and `allocatable`) into the group at `path`. The
/// path is copied for every call: a few borrowed parts cost less than the
/// second search a lookup before the insertion would take for each of the
/// pods, every one a new group.
fn add<'a>(
    under: &mut std::collections::BTreeMap<Vec<Part<'a>>, Tally>,
    path: &[Part<'a>],
    requested: i64,
    allocatable: Option<i64>,
) {
    let tally = under.entry(path.to_vec()).or_default();
    tally.requested += requested;
    if let Some(a) = allocatable {
        *tally.allocatable.get_or_insert(0) += a;
    }
}
