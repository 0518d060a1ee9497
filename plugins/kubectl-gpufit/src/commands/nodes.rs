//! `nodes`: the GPU inventory of each cluster — product, memory,
//! allocatable, used and free per node and GPU resource.

use gpuops_fit::workloads::is_gpu;
use gpuops_model::catalog::gpu_of_labels;
use gpuops_schedule::cluster::{Cluster, Node};
use gpuops_schedule::scheduler::{usage, usage_of};

use super::cluster::clusters;
use crate::cli::{GroupBy, NodesArgs};
use crate::render::{self, AllocationRow, NamespaceUse, NodeRow};
use crate::{Error, ExitCode};

pub(crate) fn nodes(args: &NodesArgs) -> Result<ExitCode, Error> {
    args.output.quiet_progress();
    let clusters = clusters(&args.cluster, false)?;
    let namespace = args.cluster.namespace.as_deref().filter(|_| !args.all_namespaces);
    if !args.group_by.is_empty() {
        let rows: Vec<AllocationRow> =
            clusters.iter().flat_map(|c| allocations(c, &args.group_by, namespace, clusters.len() > 1)).collect();
        render::emit(&render::allocations(&rows, &args.output)?)?;
        return Ok(ExitCode::Success);
    }
    let rows: Vec<NodeRow> = clusters.iter().flat_map(|c| inventory(c, namespace)).collect();
    render::emit(&render::nodes(&rows, namespace, &args.output)?)?;
    Ok(ExitCode::Success)
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
fn allocations(cluster: &Cluster, levels: &[GroupBy], namespace: Option<&str>, fleet: bool) -> Vec<AllocationRow> {
    use std::collections::{BTreeMap, HashMap};
    let mut tree: BTreeMap<Vec<String>, Tally> = BTreeMap::new();
    let mut by_name: HashMap<&str, (&Node, String)> = HashMap::with_capacity(cluster.nodes.len());
    // Node-made groups get their allocatable first, so that idle nodes show.
    for node in &cluster.nodes {
        let product = gpu_of_labels(&node.labels).map_or_else(|| "-".to_string(), |g| g.label);
        for (resource, &allocatable) in node.allocatable.iter().filter(|(k, _)| is_gpu(k)) {
            let mut path = vec![resource.clone(), offering(resource, node)];
            add(&mut tree, &path, 0, Some(allocatable));
            for level in levels.iter().take_while(|l| l.of_nodes()) {
                path.push(if *level == GroupBy::Node { node.name.clone() } else { product.clone() });
                add(&mut tree, &path, 0, Some(allocatable));
            }
        }
        by_name.insert(node.name.as_str(), (node, product));
    }
    for pod in cluster.pods.iter().filter(|p| namespace.is_none_or(|ns| p.namespace == ns)) {
        let Some((node, product)) = by_name.get(pod.node.as_str()) else { continue };
        for (resource, &requested) in pod.requests.iter().filter(|(k, v)| **v > 0 && is_gpu(k)) {
            let mut path = vec![resource.clone(), offering(resource, node)];
            add(&mut tree, &path, requested, None);
            for level in levels {
                path.push(match level {
                    GroupBy::Node => node.name.clone(),
                    GroupBy::GpuProduct => product.clone(),
                    GroupBy::Namespace => pod.namespace.clone(),
                    GroupBy::Pod => format!("{}/{}", pod.namespace, pod.name),
                });
                add(&mut tree, &path, requested, None);
            }
        }
    }
    let source = fleet.then(|| cluster.source.clone());
    tree.into_iter()
        .map(|(path, tally)| AllocationRow::new(&path, levels, tally.requested, tally.allocatable, source.clone()))
        .collect()
}

/// Count `requested` (and `allocatable`) into the group at `path`.
fn add(
    tree: &mut std::collections::BTreeMap<Vec<String>, Tally>,
    path: &[String],
    requested: i64,
    allocatable: Option<i64>,
) {
    let tally = match tree.get_mut(path) {
        Some(t) => t,
        None => tree.entry(path.to_vec()).or_default(),
    };
    tally.requested += requested;
    if let Some(a) = allocatable {
        *tally.allocatable.get_or_insert(0) += a;
    }
}
